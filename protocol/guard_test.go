package protocol_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// AnyAbsAtLeast against its plaintext twin, at the edges of the range, for several
// party counts.
func TestAnyAbsAtLeast(t *testing.T) {
	const limit = 1 << 40
	cases := []struct {
		values []int64
		want   bool
	}{
		{[]int64{0}, false},
		{[]int64{limit - 1, -(limit - 1), 5, -5}, false},
		{[]int64{0, limit, 0}, true},
		{[]int64{-limit, 0}, true},
		{[]int64{1 << 61, 0}, true},
		{[]int64{-(1 << 61)}, true},
		{[]int64{limit - 1, -limit + 1, limit + 1}, true},
	}
	for _, n := range partyCounts {
		for _, c := range cases {
			x := sharing.Zeros(len(c.values))
			for i, v := range c.values {
				x.Data[i] = uint64(v)
			}
			shares := splitAll(t, n, x)
			got := session(t, n, 16, func(ctx context.Context, e *protocol.Engine) (bool, error) {
				return e.AnyAbsAtLeast(ctx, shares[e.Self()][0], limit)
			})
			for i, g := range got {
				if g != c.want {
					t.Fatalf("%d parties, %v: party %d got %v, want %v", n, c.values, i, g, c.want)
				}
			}
		}
	}
}

// A peer's declared input shape is bounded before anything is allocated for it:
// the element count (not each dimension alone) and the session's total.
func TestInputBoundsDeclaredShapes(t *testing.T) {
	for _, tc := range []struct {
		shapes [][]int
		max    int64
		want   string
	}{
		{[][]int{{1 << 26, 1 << 20}}, 0, "exceeds"},
		{[][]int{{1000, 10}, {1000, 10}}, 15000, "session's bound"},
	} {
		ts, _ := network.NewMemoryNetwork(2)
		e, err := protocol.NewEngine(ts[1], protocol.SourceFunc(func(context.Context, protocol.Request) (protocol.Material, error) {
			return protocol.Material{}, nil
		}), protocol.Config{Codec: sharing.Codec{FracBits: 16}, MaxPeerInputElements: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		owner, _ := protocol.NewEngine(ts[0], protocol.SourceFunc(nil), protocol.Config{Codec: sharing.Codec{FracBits: 16}})
		var last error
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, shape := range tc.shapes {
			if sharing.Size(shape) < 1<<20 { // the owner of a huge input is not simulated: the receiver must refuse before reading
				go owner.Input(ctx, 0, sharing.Zeros(shape...), shape...) //nolint:errcheck // only the receiver is under test
			}
			if _, last = e.Input(ctx, 0, sharing.Tensor{}, shape...); last != nil {
				break
			}
		}
		if last == nil || !strings.Contains(last.Error(), tc.want) || !strings.Contains(last.Error(), "party 0") {
			t.Fatalf("shapes %v: %v", tc.shapes, last)
		}
	}
}

// boundedTransport carries messages of at most max bytes.
type boundedTransport struct {
	protocol.Transport
	max int
}

func (b boundedTransport) MaxMessageBytes() int { return b.max }

// An opening the transport could not carry is refused by the engine, naming the
// bound, before anything is sent.
func TestOpeningRespectsTransportBound(t *testing.T) {
	ts, _ := network.NewMemoryNetwork(2)
	e, err := protocol.NewEngine(boundedTransport{ts[0], 16 + 8*100}, protocol.SourceFunc(nil), protocol.Config{Codec: sharing.Codec{FracBits: 16}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = e.Open(ctx, sharing.Zeros(101))
	if err == nil || !strings.Contains(err.Error(), "exceeds the message bound 100") {
		t.Fatalf("opening 101 elements over a 100-element transport: %v", err)
	}
	if st := ts[0].Stats(); st.BytesSent != 0 {
		t.Fatalf("%d bytes sent before the refusal", st.BytesSent)
	}
}

package protocol_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// TestRemoteDealer runs the dealer as its own member of the network and checks the
// material it serves is exact.
func TestRemoteDealer(t *testing.T) {
	for _, n := range partyCounts {
		t.Run(fmt.Sprint("parties=", n), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ts, dealerDone := dealerNode(ctx, t, n)
			x, y := randomRing(9, 11), randomRing(11, 4)
			codec := sharing.Codec{FracBits: 16}
			fx, _ := randomFixed(codec, 100, 13)
			shares := splitAll(t, n, x, y, fx)
			var wg sync.WaitGroup
			out := make([][]sharing.Tensor, n)
			errs := make([]error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs[i] = func() error {
						src, end, err := protocol.RemoteDealerSource(ctx, ts[i], n)
						if err != nil {
							return err
						}
						e, err := protocol.NewEngine(ts[i], src, protocol.Config{Codec: codec, Parties: n})
						if err != nil {
							return err
						}
						m := shares[i]
						z, err := e.MatMul(ctx, m[0], m[1])
						if err != nil {
							return err
						}
						sq, err := e.Square(ctx, m[0])
						if err != nil {
							return err
						}
						tr, err := e.Truncate(ctx, m[2])
						if err != nil {
							return err
						}
						ms, err := e.MaskMatrices(ctx, m[0], m[1])
						if err != nil {
							return err
						}
						zm, err := e.MatMulMasked(ctx, ms[0], false, ms[1], false)
						if err != nil {
							return err
						}
						zt, err := e.MatMulMasked(ctx, ms[1], true, ms[0], true)
						if err != nil {
							return err
						}
						out[i] = []sharing.Tensor{z, sq, tr, zm, zt}
						return end(ctx)
					}()
				}(i)
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("party %d: %v", i, err)
				}
			}
			if err := dealerDone(); err != nil {
				t.Fatalf("dealer: %v", err)
			}
			get := func(j int) sharing.Tensor {
				var ss []sharing.Tensor
				for _, o := range out {
					ss = append(ss, o[j])
				}
				return reconstruct(t, ss)
			}
			if !sharing.Equal(get(0), sharing.MatMul(x, y)) || !sharing.Equal(get(1), sharing.Hadamard(x, x)) {
				t.Fatal("remote dealer material is not exact")
			}
			if !sharing.Equal(get(3), sharing.MatMul(x, y)) || !sharing.Equal(get(4), sharing.Transpose(sharing.MatMul(x, y))) {
				t.Fatal("remote dealer mask products are not exact")
			}
			got := get(2)
			for i := range got.Data {
				if d := truncErr(got.Data[i], fx.Data[i], 16); d != 0 && d != 1 {
					t.Fatalf("truncation off by %d", d)
				}
			}
		})
	}
}

// dealerTrace records, on party N-1's transport, how many requests it had sent
// the dealer and not yet had answered each time it received an answer.
type dealerTrace struct {
	protocol.Transport
	dealer      int
	mu          sync.Mutex
	outstanding int
	atReceive   []int
}

func (d *dealerTrace) Send(ctx context.Context, to int, msg []byte) error {
	if to == d.dealer && len(msg) > 0 {
		d.mu.Lock()
		d.outstanding++
		d.mu.Unlock()
	}
	return d.Transport.Send(ctx, to, msg)
}

func (d *dealerTrace) Recv(ctx context.Context, from int) ([]byte, error) {
	msg, err := d.Transport.Recv(ctx, from)
	if from == d.dealer && err == nil {
		d.mu.Lock()
		d.atReceive = append(d.atReceive, d.outstanding)
		d.outstanding--
		d.mu.Unlock()
	}
	return msg, err
}

// dealerNode starts a dealer for n parties, for the session ctx, as member n of a
// fresh in-memory network, and returns the network and a wait for the dealer's
// error once the parties are done (or ctx ends).
func dealerNode(ctx context.Context, t *testing.T, n int, opts ...protocol.ServeOption) ([]*network.Memory, func() error) {
	t.Helper()
	ts, err := network.NewMemoryNetwork(n + 1)
	if err != nil {
		t.Fatal(err)
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dealerErr := make(chan error, 1)
	go func() { dealerErr <- protocol.ServeDealer(ctx, ts[n], dealer, opts...) }()
	return ts, func() error { return <-dealerErr }
}

// runRemote runs the pipeline tests' computation on n parties and a dealer node,
// each party's source made by mk over its transport (party N-1's traced).
func runRemote(t *testing.T, n int, shares [][]sharing.Tensor, trace *dealerTrace, mk func(ctx context.Context, tr protocol.Transport) (protocol.Source, func(context.Context) error, func(), error)) [][]sharing.Tensor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ts, dealerDone := dealerNode(ctx, t, n)
	out := make([][]sharing.Tensor, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Go(func() {
			var tr protocol.Transport = ts[i]
			if i == n-1 {
				trace.Transport, trace.dealer = ts[i], n
				tr = trace
			}
			src, end, stop, err := mk(ctx, tr)
			if err == nil {
				var e *protocol.Engine
				if e, err = protocol.NewEngine(tr, src, protocol.Config{Codec: sharing.Codec{FracBits: 16}, Parties: n}); err == nil {
					out[i], err = computation(ctx, e, shares[i][0], shares[i][1])
				}
				stop()
			}
			if err == nil {
				err = end(ctx)
			}
			if errs[i] = err; err != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	if err := dealerDone(); err != nil {
		t.Fatalf("dealer: %v", err)
	}
	return out
}

// TestRemoteDealerAsksAhead checks that party N-1, given the recorded plan, keeps
// as many requests in flight to the dealer as its window allows (one at a time
// when the window holds less than a request), and that the material is right.
func TestRemoteDealerAsksAhead(t *testing.T) {
	codec := sharing.Codec{FracBits: 16}
	for _, n := range []int{2, 3} {
		x, _ := randomFixed(codec, 2, 6, 5)
		w, _ := randomFixed(codec, 2, 5, 4)
		shares := splitAll(t, n, x, w)
		d, _ := protocol.NewDealer(n, rand.Reader)
		var rec *protocol.Recorder
		want := runWith(t, n, shares, func(i int) protocol.Source {
			src, _ := d.Source(i)
			if i == 0 {
				rec = protocol.NewRecorder(src)
				return rec
			}
			return src
		}, nil)
		plan := rec.Plan()
		for _, window := range []protocol.DealerWindow{{Requests: 3, Bytes: 1 << 20}, {Requests: 64, Bytes: 1}} {
			t.Run(fmt.Sprintf("parties=%d/window=%d,%d", n, window.Requests, window.Bytes), func(t *testing.T) {
				trace := &dealerTrace{}
				got := runRemote(t, n, shares, trace, func(ctx context.Context, tr protocol.Transport) (protocol.Source, func(context.Context) error, func(), error) {
					src, end, err := protocol.RemoteDealerSourceAhead(ctx, tr, n, plan, 0, window)
					if err != nil {
						return nil, nil, nil, err
					}
					p := protocol.NewPipeline(ctx, src, plan, 2)
					return p, end, p.Close, nil
				})
				compareOutputs(t, n, want, got)
				if len(trace.atReceive) != plan.Len() {
					t.Fatalf("party %d received %d answers, the plan has %d requests", n-1, len(trace.atReceive), plan.Len())
				}
				for k, in := range trace.atReceive {
					wantIn := min(window.Requests, plan.Len()-k)
					if window.Bytes == 1 {
						wantIn = 1
					}
					if in != wantIn {
						t.Fatalf("at answer %d, %d requests were in flight, want %d (all: %v)", k, in, wantIn, trace.atReceive)
					}
				}
			})
		}
		t.Run(fmt.Sprintf("parties=%d/off-plan", n), func(t *testing.T) {
			ts, _ := network.NewMemoryNetwork(n + 1)
			go protocol.ServeDealer(context.Background(), ts[n], d)
			src, _, err := protocol.RemoteDealerSourceAhead(context.Background(), ts[n-1], n, plan, 0, protocol.DealerWindow{Requests: 4, Bytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := src.Fetch(context.Background(), protocol.SquareRequest([]int{3})); err == nil || !strings.Contains(err.Error(), "recorded plan") {
				t.Fatalf("a request off the plan: %v", err)
			}
		})
	}
}

// compareOutputs checks that two runs of the computation reconstruct to the same
// values, within the truncations' error.
func compareOutputs(t *testing.T, n int, want, got [][]sharing.Tensor) {
	t.Helper()
	for j := range want[0] {
		var a, b []sharing.Tensor
		for i := 0; i < n; i++ {
			a, b = append(a, want[i][j]), append(b, got[i][j])
		}
		wa, gb := reconstruct(t, a), reconstruct(t, b)
		tol := int64(4)
		if j == 3 {
			tol = 400 // one ulp of y^2, multiplied by y
		}
		for k := range wa.Data {
			if d := int64(wa.Data[k] - gb.Data[k]); d > tol || d < -tol {
				t.Fatalf("output %d element %d differs by %d units", j, k, d)
			}
		}
	}
}

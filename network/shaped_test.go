package network

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/protocol"
)

// testClock is a clock that only moves when told to or when a receive waits.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) SleepUntil(_ context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return nil
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func shapedPair(t *testing.T, n int, link Link, clock Clock) []*ShapedTransport {
	t.Helper()
	mem, err := NewMemoryNetwork(n)
	if err != nil {
		t.Fatal(err)
	}
	ts := make([]protocol.Transport, n)
	for i, m := range mem {
		ts[i] = m
	}
	shaped, err := NewLinks(n, link, clock).Shape(ts)
	if err != nil {
		t.Fatal(err)
	}
	return shaped
}

// A message of b bytes on a link of latency L and bandwidth B arrives L + b/B
// after it starts, and starts once the previous message on that link has left.
func TestShapedArrivalFollowsTheModel(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Unix(1000, 0)}
	t0 := clock.Now()
	// 20 ms RTT (10 ms one way), 8000 bit/s = 1000 bytes/s: 1 ms per byte.
	link := Link{Name: "test", RTT: 20 * time.Millisecond, BitsPerSecond: 8000}
	p := shapedPair(t, 3, link, clock)
	send := func(from, to, size int) {
		t.Helper()
		if err := p[from].Send(ctx, to, make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	recvAt := func(to, from int, want time.Duration) {
		t.Helper()
		msg, err := p[to].Recv(ctx, from)
		if err != nil {
			t.Fatal(err)
		}
		if got := clock.Now().Sub(t0); got != want {
			t.Fatalf("message of %d bytes from %d to %d arrived at %v, want %v", len(msg), from, to, got, want)
		}
	}
	send(0, 1, 100) // leaves at 100 ms, arrives at 110 ms
	send(0, 1, 50)  // queued: starts at 100 ms, leaves at 150 ms, arrives at 160 ms
	send(1, 0, 30)  // the other direction is free: arrives at 40 ms
	send(0, 2, 10)  // another link from the same party is free: arrives at 20 ms
	recvAt(0, 1, 40*time.Millisecond)
	recvAt(2, 0, 40*time.Millisecond) // already arrived: no wait
	recvAt(1, 0, 110*time.Millisecond)
	recvAt(1, 0, 160*time.Millisecond)
	// Once the link is idle, a message starts when it is sent.
	clock.advance(1 * time.Second) // now 1160 ms
	send(0, 1, 5)
	recvAt(1, 0, 1175*time.Millisecond)
}

// Networks that share Links (a party's online and preprocessing channels) share
// the wire: a message on one waits for the other's on the same directed link.
func TestShapedNetworksShareTheWire(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{now: time.Unix(0, 0)}
	t0 := clock.Now()
	links := NewLinks(2, Link{Name: "test", RTT: 2 * time.Millisecond, BitsPerSecond: 8e6}, clock) // 1 µs per byte
	var nets [2][]*ShapedTransport
	for k := range nets {
		mem, err := NewMemoryNetwork(2)
		if err != nil {
			t.Fatal(err)
		}
		if nets[k], err = links.Shape([]protocol.Transport{mem[0], mem[1]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nets[0][0].Send(ctx, 1, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := nets[1][0].Send(ctx, 1, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if _, err := nets[1][1].Recv(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got, want := clock.Now().Sub(t0), 3*time.Millisecond; got != want {
		t.Fatalf("second channel's message arrived at %v, want %v (behind the first's 1 ms on the wire, plus 1 ms latency)", got, want)
	}
}

// On the wall clock a shaped receive waits for the modelled arrival, and the
// in-memory setting does not wait at all.
func TestShapedWallClock(t *testing.T) {
	ctx := context.Background()
	p := shapedPair(t, 2, Link{Name: "test", RTT: 10 * time.Millisecond, BitsPerSecond: 8e6}, nil)
	start := time.Now()
	if err := p[0].Send(ctx, 1, make([]byte, 5000)); err != nil { // 5 ms on the wire + 5 ms latency
		t.Fatal(err)
	}
	if _, err := p[1].Recv(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := time.Since(start); got < 10*time.Millisecond {
		t.Fatalf("shaped message arrived after %v, want at least 10ms", got)
	}
	if st := p[0].Stats(); st.BytesSent != 5000 || st.Rounds != 1 {
		t.Fatalf("inner counters not passed on: %+v", st)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p[1].Send(ctx, 0, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := p[0].Recv(cancelled, 1); err == nil {
		t.Fatal("receive on a cancelled context succeeded")
	}
}

func TestParseLink(t *testing.T) {
	good := map[string]Link{
		"memory":       LinkMemory,
		"lan":          LinkLAN,
		"wan":          LinkWAN,
		"10ms,1Gbit/s": {Name: "10ms,1Gbit/s", RTT: 10 * time.Millisecond, BitsPerSecond: 1e9},
		"80ms,50M":     {Name: "80ms,50M", RTT: 80 * time.Millisecond, BitsPerSecond: 50e6},
		"1ms,2.5e6bps": {Name: "1ms,2.5e6bps", RTT: time.Millisecond, BitsPerSecond: 2.5e6},
	}
	for in, want := range good {
		got, err := ParseLink(in)
		if err != nil || got != want {
			t.Errorf("ParseLink(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"fast", "40ms", "40,100M", "40ms,", "40ms,-1M", "40ms,0", "-1ms,1G", "40ms,1Tbit/s"} {
		if l, err := ParseLink(bad); err == nil {
			t.Errorf("ParseLink(%q) = %+v, want an error", bad, l)
		}
	}
	if LinkLAN.Latency() != 250*time.Microsecond || LinkWAN.Transmit(12_500_000) != time.Second {
		t.Errorf("LAN latency %v, WAN 12.5 MB in %v", LinkLAN.Latency(), LinkWAN.Transmit(12_500_000))
	}
	if got := LinkWAN.LowerBound(100, 1_250_000); got != 2100*time.Millisecond {
		t.Errorf("WAN bound of 100 rounds and 1.25 MB = %v, want 2.1s", got)
	}
}

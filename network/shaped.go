package network

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/protocol"
)

// Link is a network condition: every directed link between two parties has the
// same one-way latency (half the round-trip time) and bandwidth. The zero Link is
// the in-memory network: no delay at all.
type Link struct {
	// Name is how the setting was given: memory, lan, wan or "RTT,BANDWIDTH".
	Name string `json:"name"`
	// RTT is the round-trip time; a message waits RTT/2 on the wire.
	RTT time.Duration `json:"rtt_ns"`
	// BitsPerSecond is each direction's bandwidth; 0 means unlimited.
	BitsPerSecond float64 `json:"bits_per_second"`
}

// The named settings: LAN and WAN as MPC papers report them.
var (
	LinkMemory = Link{Name: "memory"}
	LinkLAN    = Link{Name: "lan", RTT: 500 * time.Microsecond, BitsPerSecond: 1e9}
	LinkWAN    = Link{Name: "wan", RTT: 40 * time.Millisecond, BitsPerSecond: 100e6}
)

// Shaped reports whether the link delays messages at all.
func (l Link) Shaped() bool { return l.RTT > 0 || l.BitsPerSecond > 0 }

// Latency is the one-way latency.
func (l Link) Latency() time.Duration { return l.RTT / 2 }

// Transmit is the time b bytes occupy the link: b / bandwidth.
func (l Link) Transmit(b int64) time.Duration {
	if l.BitsPerSecond <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(float64(8*b) / l.BitsPerSecond * 1e9))
}

// LowerBound is the least time a run of `rounds` dependent rounds can take when
// the busiest directed link carries busiestLinkBytes: every round waits at least
// one latency for a peer's message, and that link's bytes pass one after another.
func (l Link) LowerBound(rounds, busiestLinkBytes int64) time.Duration {
	return time.Duration(rounds)*l.Latency() + l.Transmit(busiestLinkBytes)
}

func (l Link) String() string {
	if !l.Shaped() {
		return l.Name
	}
	return fmt.Sprintf("%s (RTT %v, %s)", l.Name, l.RTT, formatBits(l.BitsPerSecond))
}

func formatBits(bps float64) string {
	switch {
	case bps <= 0:
		return "unlimited"
	case bps >= 1e9:
		return strconv.FormatFloat(bps/1e9, 'g', -1, 64) + " Gbit/s"
	case bps >= 1e6:
		return strconv.FormatFloat(bps/1e6, 'g', -1, 64) + " Mbit/s"
	}
	return strconv.FormatFloat(bps/1e3, 'g', -1, 64) + " kbit/s"
}

// ParseLink reads memory, lan, wan or "RTT,BANDWIDTH": a Go duration and a rate
// in bit/s with an optional k, M or G prefix and an optional "bit/s" or "bps"
// (e.g. "10ms,1Gbit/s", "80ms,50M").
func ParseLink(s string) (Link, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "memory":
		return LinkMemory, nil
	case "lan":
		return LinkLAN, nil
	case "wan":
		return LinkWAN, nil
	}
	rttText, bwText, ok := strings.Cut(s, ",")
	if !ok {
		return Link{}, fmt.Errorf("network setting %q: want memory, lan, wan or RTT,BANDWIDTH (e.g. 40ms,100Mbit/s)", s)
	}
	rtt, err := time.ParseDuration(strings.TrimSpace(rttText))
	if err != nil || rtt < 0 {
		return Link{}, fmt.Errorf("network setting %q: round-trip time %q is not a duration such as 40ms", s, rttText)
	}
	bps, err := parseBits(bwText)
	if err != nil {
		return Link{}, fmt.Errorf("network setting %q: %w", s, err)
	}
	return Link{Name: strings.TrimSpace(rttText) + "," + strings.TrimSpace(bwText), RTT: rtt, BitsPerSecond: bps}, nil
}

func parseBits(s string) (float64, error) {
	t := strings.TrimSpace(s)
	for _, unit := range []string{"bit/s", "bps", "b/s"} {
		if cut, ok := strings.CutSuffix(strings.ToLower(t), strings.ToLower(unit)); ok {
			t = t[:len(cut)]
			break
		}
	}
	mult := 1.0
	if t != "" {
		switch t[len(t)-1] {
		case 'k', 'K':
			mult = 1e3
		case 'M':
			mult = 1e6
		case 'G', 'g':
			mult = 1e9
		}
		if mult != 1 {
			t = t[:len(t)-1]
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("bandwidth %q is not a positive rate such as 100Mbit/s", s)
	}
	return v * mult, nil
}

// Clock is the time a shaped network runs on: the wall clock, or a test's.
type Clock interface {
	Now() time.Time
	// SleepUntil returns once Now() >= t, or with ctx's error.
	SleepUntil(ctx context.Context, t time.Time) error
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

// spinBelow is the remaining wait under which SleepUntil yields instead of
// parking on a timer: a timer wakes up to a millisecond late on some VMs, which
// would dwarf a LAN latency of 250 µs.
const spinBelow = 2 * time.Millisecond

func (wallClock) SleepUntil(ctx context.Context, t time.Time) error {
	for {
		d := time.Until(t)
		if d <= 0 {
			return nil
		}
		if d < spinBelow {
			if err := ctx.Err(); err != nil {
				return err
			}
			runtime.Gosched()
			continue
		}
		timer := time.NewTimer(d - spinBelow/2)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
	}
}

// Links is the wire state of a shaped network: for each directed pair of parties,
// the time its link is next free. Several networks of the same parties (the
// online, HE and OT channels) may share one Links, as they share the wire.
type Links struct {
	link  Link
	clock Clock
	mu    sync.Mutex
	free  [][]time.Time // free[from][to]: when the previous message has left
}

// NewLinks returns the wire state of n parties on link, running on the wall
// clock when clock is nil.
func NewLinks(n int, link Link, clock Clock) *Links {
	if clock == nil {
		clock = wallClock{}
	}
	free := make([][]time.Time, n)
	for i := range free {
		free[i] = make([]time.Time, n)
	}
	return &Links{link: link, clock: clock, free: free}
}

// Link is the condition of every link.
func (l *Links) Link() Link { return l.link }

// depart books a message of b bytes sent now from `from` to `to` and returns its
// arrival: it starts once the previous message on the link has left, occupies the
// link for its transmission time, then travels one latency.
func (l *Links) depart(from, to int, b int) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.clock.Now()
	if f := l.free[from][to]; f.After(start) {
		start = f
	}
	left := start.Add(l.link.Transmit(int64(b)))
	l.free[from][to] = left
	return left.Add(l.link.Latency())
}

// ShapedTransport is one party's end of a shaped network: the inner transport
// moves the messages, and a receive returns no earlier than the message's arrival
// on the modelled link. Send never blocks on the model (the wire queues). The
// model is deterministic: arrival depends only on send times and sizes.
type ShapedTransport struct {
	inner    protocol.Transport
	links    *Links
	arrivals [][]*arrivalQueue // shared by the network: arrivals[from][to]
}

// Shape wraps one network's transports (ts[i] is party i's) on the links: each
// message's arrival time is booked when it is sent and honoured when it is
// received. The parties must be in this process.
func (l *Links) Shape(ts []protocol.Transport) ([]*ShapedTransport, error) {
	n := len(ts)
	if n != len(l.free) {
		return nil, fmt.Errorf("network: %d transports on links of %d parties", n, len(l.free))
	}
	arrivals := make([][]*arrivalQueue, n)
	for i := range arrivals {
		arrivals[i] = make([]*arrivalQueue, n)
		for j := range arrivals[i] {
			arrivals[i][j] = &arrivalQueue{}
		}
	}
	out := make([]*ShapedTransport, n)
	for i, t := range ts {
		if t.Self() != i || t.Parties() != n {
			return nil, fmt.Errorf("network: transport %d is party %d of %d", i, t.Self(), t.Parties())
		}
		out[i] = &ShapedTransport{inner: t, links: l, arrivals: arrivals}
	}
	return out, nil
}

// arrivalQueue holds the arrival times of the messages in flight on one directed
// link, in sending order (the inner transport keeps that order).
type arrivalQueue struct {
	mu    sync.Mutex
	times []time.Time
}

func (q *arrivalQueue) push(t time.Time) {
	q.mu.Lock()
	q.times = append(q.times, t)
	q.mu.Unlock()
}

func (q *arrivalQueue) pop() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.times) == 0 {
		return time.Time{}, false
	}
	t := q.times[0]
	q.times = q.times[1:]
	return t, true
}

// Self implements protocol.Transport.
func (s *ShapedTransport) Self() int { return s.inner.Self() }

// Parties implements protocol.Transport.
func (s *ShapedTransport) Parties() int { return s.inner.Parties() }

// Send implements protocol.Transport: the message is booked on the link, then
// handed to the inner transport.
func (s *ShapedTransport) Send(ctx context.Context, to int, msg []byte) error {
	self := s.inner.Self()
	if to < 0 || to >= len(s.arrivals) || to == self {
		return fmt.Errorf("network: party %d has no peer %d", self, to)
	}
	// Booked before the inner send, so the receiver finds the arrival time as soon
	// as it finds the message. A failed send leaves a booking behind, but the
	// network is then closing.
	s.arrivals[self][to].push(s.links.depart(self, to, len(msg)))
	return s.inner.Send(ctx, to, msg)
}

// Recv implements protocol.Transport: it returns the next message from `from`
// once the modelled link has delivered it.
func (s *ShapedTransport) Recv(ctx context.Context, from int) ([]byte, error) {
	msg, err := s.inner.Recv(ctx, from)
	if err != nil {
		return nil, err
	}
	at, ok := s.arrivals[from][s.inner.Self()].pop()
	if !ok {
		return nil, fmt.Errorf("network: message from party %d was not booked on the shaped link", from)
	}
	if err := s.links.clock.SleepUntil(ctx, at); err != nil {
		return nil, fmt.Errorf("network: receive from party %d: %w", from, err)
	}
	return msg, nil
}

// Stats implements protocol.StatsReporter when the inner transport counts.
func (s *ShapedTransport) Stats() protocol.Stats {
	if r, ok := s.inner.(protocol.StatsReporter); ok {
		return r.Stats()
	}
	return protocol.Stats{}
}

// Close closes the inner transport when it can be closed.
func (s *ShapedTransport) Close() error {
	if c, ok := s.inner.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// MaxMessageBytes passes on the inner transport's bound (protocol.MessageBounder).
func (s *ShapedTransport) MaxMessageBytes() int {
	if b, ok := s.inner.(protocol.MessageBounder); ok {
		return b.MaxMessageBytes()
	}
	return math.MaxInt32
}

package network

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	lpnet "github.com/libp2p/go-libp2p/core/network"
)

// TestLibp2pBusyPeerIsNotDead: a peer that computes for several MessageTimeouts
// between two messages is busy, not dead. Its peer's Recv waits for it, and a
// Send held back by flow control while it does not read waits too.
func TestLibp2pBusyPeerIsNotDead(t *testing.T) {
	const timeout = time.Second // heartbeats every 250 ms: room for a loaded 2-core CI machine
	const busy = 3 * timeout
	const size, count = 1 << 20, 100 // more than the inbox budget and windows absorb
	dep := newTestDeployment(t, 2, func(i int, c *Libp2pConfig) {
		c.MessageTimeout, c.MaxFrameBytes = timeout, size
	})
	ctx := context.Background()

	start := time.Now()
	got := make(chan error, 1)
	go func() {
		msg, err := dep.ts[0].Recv(ctx, 1)
		if err == nil && string(msg) != "done computing" {
			err = errors.New("wrong message")
		}
		got <- err
	}()
	time.Sleep(busy) // party 1 computes
	if err := dep.ts[1].Send(ctx, 0, []byte("done computing")); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("recv from a busy peer, after %v: %v", time.Since(start), err)
	}

	sent := make(chan error, 1)
	go func() {
		for k := range count {
			if err := dep.ts[1].Send(ctx, 0, testMessage(1, 0, k, size)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	time.Sleep(busy) // party 0 computes and reads nothing
	select {
	case err := <-sent:
		t.Fatalf("party 1 finished sending (%v) although party 0 read nothing", err)
	default:
	}
	for k := range count {
		msg, err := dep.ts[0].Recv(ctx, 1)
		if err != nil || !bytes.Equal(msg, testMessage(1, 0, k, size)) {
			t.Fatalf("message %d: %d bytes, %v", k, len(msg), err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatalf("send to a busy peer: %v", err)
	}
}

// TestLibp2pSilentPeerDetected: a peer that passes the handshake, sends a message
// and heartbeats for a while, then sends nothing more (frozen: it neither writes
// nor reads) is declared dead within twice MessageTimeout, by a pending Recv and
// by a Send blocked on flow control, with errors naming it.
func TestLibp2pSilentPeerDetected(t *testing.T) {
	const timeout = 500 * time.Millisecond
	dep := newTestHosts(t, 2, func(i int, c *Libp2pConfig) { c.MessageTimeout = timeout })
	frozenAt := make(chan time.Time, 1)
	release := make(chan struct{})
	defer close(release)
	fake := dep.ts[1]
	fake.host.SetStreamHandler(Libp2pProtocolID, func(s lpnet.Stream) {
		defer s.Reset()
		if err := exchangeHandshake(s, fake.hello, func(handshakeHello) string { return "" }); err != nil {
			t.Errorf("fake peer: %v", err)
			return
		}
		writeFrame(s, frameData, []byte("hello"))
		for range 8 { // alive for 2 s, four times the timeout
			time.Sleep(timeout / 4)
			writeFrame(s, frameHeartbeat, nil)
		}
		frozenAt <- time.Now()
		<-release
	})
	if err := dep.ts[0].Connect(context.Background(), dep.peers); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if msg, err := dep.ts[0].Recv(ctx, 1); err != nil || string(msg) != "hello" {
		t.Fatalf("got %q, %v", msg, err)
	}
	sendErr := make(chan error, 1)
	go func() { sendErr <- dep.ts[0].Send(ctx, 1, make([]byte, 64<<20)) }() // beyond yamux's window
	_, err := dep.ts[0].Recv(ctx, 1)
	detected := time.Now()
	froze := <-frozenAt
	took := detected.Sub(froze)
	t.Logf("silent peer detected %v after its last heartbeat (timeout %v): %v", took.Round(time.Millisecond), timeout, err)
	name := "peer 1 (" + dep.peers[1].ID.String() + ")"
	if !errors.Is(err, ErrPeerUnresponsive) || !errors.Is(err, os.ErrDeadlineExceeded) || !strings.Contains(err.Error(), name) {
		t.Fatalf("recv: got %v, want ErrPeerUnresponsive naming %s", err, name)
	}
	if took > 2*timeout || took < timeout-timeout/4 {
		t.Errorf("detected %v after the peer froze, want between the timeout %v and twice it", took, timeout)
	}
	select {
	case err := <-sendErr:
		if !errors.Is(err, ErrPeerUnresponsive) || !strings.Contains(err.Error(), name) {
			t.Fatalf("blocked send: got %v, want ErrPeerUnresponsive naming %s", err, name)
		}
	case <-time.After(time.Second):
		t.Fatal("a send blocked on the dead peer did not fail")
	}
	if err := dep.ts[0].Send(ctx, 1, []byte("x")); !errors.Is(err, ErrPeerUnresponsive) {
		t.Fatalf("later send: %v", err)
	}
}

// TestMuxIdleLinkIsNotAnError: the mux's reader always waits in Recv, so with a
// per-message timeout an idle link used to fail every channel. Idle (or busy)
// peers are no error; the channels work after a long pause.
func TestMuxIdleLinkIsNotAnError(t *testing.T) {
	const timeout = 300 * time.Millisecond
	dep := newTestDeployment(t, 2, func(i int, c *Libp2pConfig) { c.MessageTimeout = timeout })
	muxes := make([]*Mux, 2)
	for i, tr := range dep.ts {
		m, err := NewMux(tr, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		muxes[i] = m
	}
	ctx := context.Background()
	time.Sleep(5 * timeout) // a long local computation: nothing sent
	if err := muxes[0].Channel(1).Send(ctx, 1, []byte("after the pause")); err != nil {
		t.Fatal(err)
	}
	if msg, err := muxes[1].Channel(1).Recv(ctx, 0); err != nil || string(msg) != "after the pause" {
		t.Fatalf("got %q, %v", msg, err)
	}
}

// TestMuxFloodIsAnError: a peer that sends a muxed channel nobody reads more than
// the transport's inbox budget is cut off with an error naming it; the mux does
// not queue without bound.
func TestMuxFloodIsAnError(t *testing.T) {
	const size, count = 1 << 20, 100 // 100 MiB against a 64 MiB budget
	dep := newTestDeployment(t, 2, func(i int, c *Libp2pConfig) { c.MaxFrameBytes = size })
	m, err := NewMux(dep.ts[1], 2)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	budget := dep.ts[1].InboxBudget()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		for range count { // party 0 speaks raw, to channel 1, which party 1 does not read
			msg := append([]byte{1}, make([]byte, size-1)...)
			if dep.ts[0].Send(ctx, 1, msg) != nil {
				return
			}
		}
	}()
	_, err = m.Channel(0).Recv(ctx, 0)
	if !errors.Is(err, ErrFlood) || !strings.Contains(err.Error(), "party 0") {
		t.Fatalf("got %v, want ErrFlood naming party 0", err)
	}
	if _, err := m.Channel(1).Recv(ctx, 0); !errors.Is(err, ErrFlood) {
		t.Fatalf("flooded channel: got %v, want ErrFlood", err)
	}
	if held := m.held[0].Load(); held != 0 {
		t.Errorf("%d bytes still held after the flood (budget %d)", held, budget)
	}
	t.Logf("%v", err)
}

// TestMuxBudget: within the budget messages wait for their channel; one message
// larger than the budget still passes through an empty channel queue.
func TestMuxBudget(t *testing.T) {
	ts, _ := NewMemoryNetwork(2)
	const budget = 10 << 10
	m, err := newMux(ts[1], 2, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	send := func(c byte, size int) {
		if err := ts[0].Send(ctx, 1, append([]byte{c}, make([]byte, size)...)); err != nil {
			t.Fatal(err)
		}
	}
	send(0, 3*budget) // the first message on a channel is always admitted
	for range 4 {
		send(1, 2<<10) // the first is exempt, the other three fit the budget
	}
	recv := func(ch, want int) {
		if msg, err := m.Channel(ch).Recv(ctx, 0); err != nil || len(msg) != want {
			t.Fatalf("channel %d: %d bytes, %v; want %d", ch, len(msg), err, want)
		}
	}
	recv(0, 3*budget)
	for range 4 {
		recv(1, 2<<10)
	}
	for range budget/queueEntryBytes + 2 { // empty messages count too
		send(1, 0)
	}
	if _, err := m.Channel(0).Recv(ctx, 0); !errors.Is(err, ErrFlood) || !strings.Contains(err.Error(), "party 0") {
		t.Fatalf("got %v, want ErrFlood naming party 0", err)
	}
}

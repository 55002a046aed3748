package network

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// killAndReopen kills party victim of a connected 3-party deployment the hard way
// (its host goes, without a goodbye), checks that the survivors see it lost, and
// reopens their sessions: party 2 only after party 0 has begun dialing again, so
// that party 0 first meets party 2's old session. stale is a message party 0
// sent party 2 in the old session that party 2 never read.
func killAndReopen(t *testing.T, dep *lpTestNet, victim int, timeout time.Duration) (reopened []*Libp2pTransport, connectErrs chan error) {
	t.Helper()
	ctx := context.Background()
	if err := dep.ts[0].Send(ctx, 2, []byte("stale")); err != nil {
		t.Fatal(err)
	}
	if err := dep.ts[victim].host.Close(); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 2} {
		_, err := dep.ts[i].Recv(ctx, victim)
		if !errors.Is(err, ErrPeerLost) || !strings.Contains(err.Error(), "peer 1 ("+dep.peers[victim].ID.String()+")") {
			t.Fatalf("party %d: recv from the killed peer: %v, want a lost peer named", i, err)
		}
	}
	reopened = make([]*Libp2pTransport, 3)
	connectErrs = make(chan error, 2)
	for _, i := range []int{0, 2} {
		if i == 2 {
			time.Sleep(300 * time.Millisecond)
		}
		next, err := dep.ts[i].Reopen(timeout)
		if err != nil {
			t.Fatal(err)
		}
		reopened[i] = next
		go func() { connectErrs <- next.Connect(ctx, nil) }()
	}
	t.Cleanup(func() { closeAll(reopened) })
	return reopened, connectErrs
}

// TestLibp2pRejoinSameKey: party 1 is killed and restarted with its key on its
// address; the survivors reopen their sessions and admit it again, and the new
// session carries nothing of the old one.
func TestLibp2pRejoinSameKey(t *testing.T) {
	dep := newTestDeployment(t, 3, nil)
	ts, connected := killAndReopen(t, dep, 1, 10*time.Second)
	cfg := testConfig(1, dep.keys[1], dep.peers)
	cfg.ListenAddrs = []string{dep.peers[1].Addrs[0].String()}
	restarted, err := NewLibp2pHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts[1] = restarted
	if err := restarted.Connect(context.Background(), dep.peers); err != nil {
		t.Fatalf("restarted party 1: %v", err)
	}
	for range 2 {
		if err := <-connected; err != nil {
			t.Fatalf("a survivor: %v", err)
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for from := range 3 {
		for to := range 3 {
			if from == to {
				continue
			}
			wg.Go(func() {
				if err := ts[from].Send(ctx, to, testMessage(from, to, 7, 64)); err != nil {
					t.Errorf("%d->%d: %v", from, to, err)
				}
				got, err := ts[to].Recv(ctx, from)
				if err != nil || string(got) != string(testMessage(from, to, 7, 64)) {
					t.Errorf("%d->%d: got %q, %v (the old session's message must not arrive)", from, to, got, err)
				}
			})
		}
	}
	wg.Wait()
	// The old sessions are over; closing them leaves the host to the new one.
	if err := dep.ts[0].Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := dep.ts[0].Recv(ctx, 2); !errors.Is(err, ErrClosed) {
		t.Fatalf("old session: %v, want ErrClosed", err)
	}
	if err := ts[0].Send(ctx, 2, []byte("after")); err != nil {
		t.Fatal(err)
	}
	if got, err := ts[2].Recv(ctx, 0); err != nil || string(got) != "after" {
		t.Fatalf("got %q, %v", got, err)
	}
}

// TestLibp2pRejoinOtherKeyRefused: a node with another key on party 1's address,
// claiming its seat, is refused by the survivors' gaters; they give up after the
// rejoin timeout, naming party 1.
func TestLibp2pRejoinOtherKeyRefused(t *testing.T) {
	dep := newTestDeployment(t, 3, nil)
	const timeout = 2 * time.Second
	_, connected := killAndReopen(t, dep, 1, timeout)
	key, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := PeerIDFromKey(key)
	peers := append([]PeerInfo(nil), dep.peers...)
	peers[1] = PeerInfo{Index: 1, ID: id, Addrs: peers[1].Addrs}
	cfg := testConfig(1, key, peers)
	cfg.ListenAddrs = []string{dep.peers[1].Addrs[0].String()}
	cfg.HandshakeTimeout = timeout
	impostor, err := NewLibp2pHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer impostor.Close()
	start := time.Now()
	if err := impostor.Connect(context.Background(), nil); err == nil {
		t.Fatal("the impostor was admitted")
	}
	for range 2 {
		err := <-connected
		if err == nil || !strings.Contains(err.Error(), "peer 1 ("+dep.peers[1].ID.String()+")") {
			t.Fatalf("a survivor: %v, want a failure naming peer 1", err)
		}
		t.Logf("survivor: %v", err)
	}
	if took := time.Since(start); took > timeout+3*time.Second {
		t.Errorf("the survivors gave up after %v (rejoin timeout %v)", took, timeout)
	}
	// Party 2 (dialed by the impostor) refused it in its gater; party 0 (which
	// dials party 1) in Noise's handshake, which authenticates the expected ID.
	if dep.ts[2].gater.refused.Load() == 0 {
		t.Error("party 2's gater refused nothing")
	}
}

// TestLibp2pAbortIsNotLost: a peer that aborts does not come back; its error is
// not a lost peer's.
func TestLibp2pAbortIsNotLost(t *testing.T) {
	dep := newTestDeployment(t, 2, nil)
	go dep.ts[1].Abort("giving up")
	_, err := dep.ts[0].Recv(context.Background(), 1)
	var abort *PeerAbortError
	if !errors.As(err, &abort) || errors.Is(err, ErrPeerLost) {
		t.Fatalf("got %v, want a peer abort that is not a lost peer", err)
	}
}

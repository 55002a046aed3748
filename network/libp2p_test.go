package network

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"
)

var testSession = sha256.Sum256([]byte("tessera test experiment"))

// lpTestNet is a deployment of real libp2p hosts on loopback.
type lpTestNet struct {
	keys  []crypto.PrivKey
	peers []PeerInfo // with the addresses the hosts actually bound
	ts    []*Libp2pTransport
}

func testKeys(t testing.TB, n int) ([]crypto.PrivKey, []PeerInfo) {
	t.Helper()
	keys := make([]crypto.PrivKey, n)
	peers := make([]PeerInfo, n)
	for i := range keys {
		k, err := GenerateIdentity()
		if err != nil {
			t.Fatal(err)
		}
		id, err := PeerIDFromKey(k)
		if err != nil {
			t.Fatal(err)
		}
		keys[i], peers[i] = k, PeerInfo{Index: i, ID: id}
	}
	return keys, peers
}

func testConfig(i int, key crypto.PrivKey, peers []PeerInfo) Libp2pConfig {
	return Libp2pConfig{
		Self:             i,
		Key:              key,
		ListenAddrs:      []string{"/ip4/127.0.0.1/tcp/0"},
		Peers:            peers,
		Session:          testSession[:],
		MessageTimeout:   20 * time.Second,
		HandshakeTimeout: 20 * time.Second,
		CloseTimeout:     2 * time.Second,
	}
}

// newTestHosts starts n hosts (not yet connected); edit may adjust each config.
func newTestHosts(t testing.TB, n int, edit func(i int, c *Libp2pConfig)) *lpTestNet {
	t.Helper()
	keys, peers := testKeys(t, n)
	dep := &lpTestNet{keys: keys, peers: peers, ts: make([]*Libp2pTransport, n)}
	for i := range n {
		cfg := testConfig(i, keys[i], peers)
		if edit != nil {
			edit(i, &cfg)
		}
		tr, err := NewLibp2pHost(cfg)
		if err != nil {
			t.Fatal(err)
		}
		dep.ts[i] = tr
		addrs := tr.Addrs()
		if len(addrs) == 0 || len(addrs[0]) == 0 { // Multiaddr is a slice (v0.16.1 has no Empty method)
			t.Fatalf("host %d has no address", i)
		}
		dep.peers[i].Addrs = addrs
	}
	t.Cleanup(func() { closeAll(dep.ts) })
	return dep
}

func closeAll(ts []*Libp2pTransport) {
	var wg sync.WaitGroup
	for _, tr := range ts {
		if tr != nil {
			wg.Go(func() { _ = tr.Close() })
		}
	}
	wg.Wait()
}

// connect runs Connect on every host at once and returns each one's error.
func (n *lpTestNet) connect(ctx context.Context) []error {
	errs := make([]error, len(n.ts))
	var wg sync.WaitGroup
	for i, tr := range n.ts {
		wg.Go(func() { errs[i] = tr.Connect(ctx, n.peers) })
	}
	wg.Wait()
	return errs
}

func newTestDeployment(t testing.TB, n int, edit func(i int, c *Libp2pConfig)) *lpTestNet {
	t.Helper()
	dep := newTestHosts(t, n, edit)
	for i, err := range dep.connect(context.Background()) {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	return dep
}

func testMessage(from, to, seq, size int) []byte {
	b := make([]byte, size)
	for k := range b {
		b[k] = byte(k*31 + from*7 + to*13 + seq*3)
	}
	return b
}

func TestLibp2pExchange(t *testing.T) {
	const n = 3
	dep := newTestDeployment(t, n, nil)
	sizes := []int{0, 1, 1000, 64<<10 + 3, 1 << 20, 8 << 20}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2*n*n)
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			wg.Go(func() { // i sends to j
				for seq, size := range sizes {
					if err := dep.ts[i].Send(ctx, j, testMessage(i, j, seq, size)); err != nil {
						errs <- fmt.Errorf("%d->%d #%d: %w", i, j, seq, err)
						return
					}
				}
			})
			wg.Go(func() { // i receives from j
				for seq, size := range sizes {
					got, err := dep.ts[i].Recv(ctx, j)
					if err != nil {
						errs <- fmt.Errorf("%d<-%d #%d: %w", i, j, seq, err)
						return
					}
					if !bytes.Equal(got, testMessage(j, i, seq, size)) {
						errs <- fmt.Errorf("%d<-%d #%d: got %d bytes, want message of %d bytes", i, j, seq, len(got), size)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var total int64
	for _, s := range sizes {
		total += int64(s)
	}
	for i, tr := range dep.ts {
		st := tr.Stats()
		if st.BytesSent != 2*total || st.BytesReceived != 2*total {
			t.Errorf("party %d: sent %d received %d, want %d each", i, st.BytesSent, st.BytesReceived, 2*total)
		}
		for j, ps := range st.Peers {
			if j == i {
				continue
			}
			if ps.BytesSent != total || ps.BytesReceived != total || ps.MessagesSent != int64(len(sizes)) || ps.MessagesRecv != int64(len(sizes)) {
				t.Errorf("party %d, peer %d: %+v", i, j, ps)
			}
		}
	}
}

func TestLibp2pManySmallMessagesInOrder(t *testing.T) {
	dep := newTestDeployment(t, 2, nil)
	const count = 2000
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			for k := range count {
				if err := dep.ts[i].Send(ctx, 1-i, []byte(fmt.Sprint(k))); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for k := range count {
				got, err := dep.ts[i].Recv(ctx, 1-i)
				if err != nil {
					t.Error(err)
					return
				}
				if string(got) != fmt.Sprint(k) {
					t.Errorf("party %d: message %d is %q", i, k, got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLibp2pUnknownPeerRefused(t *testing.T) {
	dep := newTestHosts(t, 3, nil)
	outKey, err := GenerateIdentity()
	if err != nil {
		t.Fatal(err)
	}
	outID, _ := PeerIDFromKey(outKey)
	// The outsider copies the deployment but puts itself in party 0's place, so it
	// dials parties 1 and 2, who do not list its peer ID.
	outPeers := append([]PeerInfo(nil), dep.peers...)
	outPeers[0] = PeerInfo{Index: 0, ID: outID}
	cfg := testConfig(0, outKey, outPeers)
	cfg.HandshakeTimeout = 3 * time.Second
	outsider, err := NewLibp2pHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer outsider.Close()

	outErr := make(chan error, 1)
	go func() { outErr <- outsider.Connect(context.Background(), nil) }()
	for i, err := range dep.connect(context.Background()) {
		if err != nil {
			t.Fatalf("party %d failed beside an outsider: %v", i, err)
		}
	}
	err = <-outErr
	if err == nil {
		t.Fatal("the outsider was admitted")
	}
	for _, want := range []string{"peer 1 (" + dep.peers[1].ID.String() + ")", "list our peer ID " + outID.String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("outsider's error lacks %q:\n%v", want, err)
		}
	}
	t.Logf("outsider: %v", err)
	for i := 1; i < 3; i++ {
		tr := dep.ts[i]
		if tr.gater.refused.Load() == 0 {
			t.Errorf("party %d's gater refused nothing", i)
		}
		if conns := tr.host.Network().ConnsToPeer(outID); len(conns) != 0 {
			t.Errorf("party %d keeps %d connections to the outsider", i, len(conns))
		}
	}
	// The deployment still works.
	if err := dep.ts[0].Send(context.Background(), 2, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if got, err := dep.ts[2].Recv(context.Background(), 0); err != nil || string(got) != "ok" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestLibp2pHandshakeMismatch(t *testing.T) {
	other := sha256.Sum256([]byte("another experiment"))
	cases := []struct {
		name  string
		edit  func(i int, c *Libp2pConfig)
		wants [2]string // in party 0's and party 1's error
	}{
		{
			name: "session",
			edit: func(i int, c *Libp2pConfig) {
				if i == 1 {
					c.Session = other[:]
				}
			},
			wants: [2]string{
				fmt.Sprintf("experiment config hash differs: ours %s, theirs %s", shortHex(testSession[:]), shortHex(other[:])),
				fmt.Sprintf("experiment config hash differs: ours %s, theirs %s", shortHex(other[:]), shortHex(testSession[:])),
			},
		},
		{
			name: "version",
			edit: func(i int, c *Libp2pConfig) {
				if i == 1 {
					c.ProtocolVersion = "tessera-mpc/2"
				}
			},
			wants: [2]string{
				`protocol version differs: ours "tessera-mpc/1", theirs "tessera-mpc/2"`,
				`protocol version differs: ours "tessera-mpc/2", theirs "tessera-mpc/1"`,
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dep := newTestHosts(t, 2, c.edit)
			errs := dep.connect(context.Background())
			for i, err := range errs {
				j := 1 - i
				var he *HandshakeError
				if !errors.As(err, &he) || he.Party != j || he.Peer != dep.peers[j].ID {
					t.Fatalf("party %d: got %v, want a HandshakeError about party %d", i, err, j)
				}
				prefix := fmt.Sprintf("peer %d (%s): ", j, dep.peers[j].ID)
				if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), c.wants[i]) {
					t.Errorf("party %d: error %q\nwant prefix %q and %q", i, err, prefix, c.wants[i])
				}
			}
		})
	}
}

func TestLibp2pOversizeFrame(t *testing.T) {
	dep := newTestDeployment(t, 2, func(i int, c *Libp2pConfig) {
		if i == 1 {
			c.MaxFrameBytes, c.MaxMessageBytes = 1024, 1024
		}
	})
	ctx := context.Background()
	if err := dep.ts[1].Send(ctx, 0, make([]byte, 1025)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("local oversize send: got %v, want ErrFrameTooLarge", err)
	}
	if err := dep.ts[0].Send(ctx, 1, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if err := dep.ts[0].Send(ctx, 1, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	if got, err := dep.ts[1].Recv(ctx, 0); err != nil || len(got) != 1024 {
		t.Fatalf("message at the limit: %d bytes, %v", len(got), err)
	}
	_, err := dep.ts[1].Recv(ctx, 0)
	if !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "peer 0 (") {
		t.Fatalf("got %v, want ErrFrameTooLarge naming peer 0", err)
	}
}

func TestLibp2pAbortPropagates(t *testing.T) {
	dep := newTestDeployment(t, 3, nil)
	ctx := context.Background()
	type result struct {
		party int
		err   error
		at    time.Duration
	}
	start := time.Now()
	results := make(chan result, 2)
	for i, from := range []int{1, 0} { // parties 0 and 1 wait on each other, not on 2
		go func() {
			_, err := dep.ts[i].Recv(ctx, from)
			results <- result{i, err, time.Since(start)}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	if err := dep.ts[2].Abort("training data shape mismatch"); err != nil {
		t.Errorf("abort: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Abort took %v", d)
	}
	for range 2 {
		r := <-results
		var pa *PeerAbortError
		if !errors.As(r.err, &pa) || pa.Party != 2 || pa.Reason != "training data shape mismatch" {
			t.Fatalf("party %d: got %v, want PeerAbortError from party 2", r.party, r.err)
		}
		if r.err.Error() != "party 2 aborted: training data shape mismatch" {
			t.Errorf("party %d: message %q", r.party, r.err)
		}
		if r.at > 3*time.Second {
			t.Errorf("party %d learned of the abort after %v", r.party, r.at)
		}
	}
	// Later calls keep failing with the abort, and the aborting party is closed.
	var pa *PeerAbortError
	if err := dep.ts[0].Send(ctx, 1, []byte("x")); !errors.As(err, &pa) {
		t.Errorf("send after abort: %v", err)
	}
	if _, err := dep.ts[2].Recv(ctx, 0); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "training data shape mismatch") {
		t.Errorf("aborted party's recv: %v", err)
	}
}

func TestLibp2pPeerCrash(t *testing.T) {
	const timeout = 2 * time.Second
	dep := newTestDeployment(t, 3, func(i int, c *Libp2pConfig) { c.MessageTimeout = timeout })
	ctx := context.Background()
	type result struct {
		err error
		at  time.Duration
	}
	start := time.Now()
	from1, from2 := make(chan result, 1), make(chan result, 1)
	go func() { _, err := dep.ts[0].Recv(ctx, 1); from1 <- result{err, time.Since(start)} }()
	go func() { _, err := dep.ts[0].Recv(ctx, 2); from2 <- result{err, time.Since(start)} }()
	time.Sleep(100 * time.Millisecond)
	// Kill party 1 the hard way: its host goes, without the transport's goodbye.
	if err := dep.ts[1].host.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-from1
	if r.err == nil || !strings.Contains(r.err.Error(), "peer 1 ("+dep.peers[1].ID.String()+")") {
		t.Fatalf("recv from the dead peer: got %v, want an error naming peer 1", r.err)
	}
	if r.at > time.Second {
		t.Errorf("noticed the dead peer after %v", r.at)
	}
	t.Logf("dead peer after %v: %v", r.at, r.err)
	// Party 2 is alive but has nothing to say: that is no error, however long
	// it lasts (it used to be one after MessageTimeout).
	select {
	case r = <-from2:
		t.Fatalf("recv from a live peer with nothing to say failed after %v: %v", r.at, r.err)
	case <-time.After(2 * timeout):
	}
	if err := dep.ts[2].Send(ctx, 0, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if r = <-from2; r.err != nil {
		t.Fatalf("recv from peer 2 after %v: %v", r.at, r.err)
	}
}

func TestLibp2pCloseMidRecv(t *testing.T) {
	dep := newTestDeployment(t, 2, nil)
	ctx := context.Background()
	// Messages sent just before Close still arrive: Close waits for the peer to
	// end its stream before the host goes (a bare host.Close resets the TCP
	// connection, SO_LINGER 0, and loses what the peer has not read yet).
	big := testMessage(1, 0, 0, 8<<20)
	if err := dep.ts[1].Send(ctx, 0, big); err != nil {
		t.Fatal(err)
	}
	if err := dep.ts[1].Send(ctx, 0, []byte("last words")); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- dep.ts[1].Close() }()
	time.Sleep(100 * time.Millisecond)
	if got, err := dep.ts[0].Recv(ctx, 1); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if got, err := dep.ts[0].Recv(ctx, 1); err != nil || string(got) != "last words" {
		t.Fatalf("got %q, %v", got, err)
	}
	start := time.Now()
	_, err := dep.ts[0].Recv(ctx, 1)
	if err == nil || !strings.Contains(err.Error(), "peer 1 (") || !strings.Contains(err.Error(), "closed its stream") {
		t.Fatalf("got %v, want an error saying peer 1 closed its stream", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
	if err := dep.ts[0].Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("close: %v", err)
	}
	if err := dep.ts[1].Send(ctx, 0, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("send after close: %v", err)
	}
}

func TestLibp2pContext(t *testing.T) {
	dep := newTestDeployment(t, 2, nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if _, err := dep.ts[0].Recv(ctx, 1); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "peer 1 (") {
		t.Fatalf("cancelled recv: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled recv returned after %v", d)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	if _, err := dep.ts[0].Recv(dctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("recv past deadline: %v", err)
	}
	if err := dep.ts[0].Send(ctx, 1, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("send with a cancelled context: %v", err)
	}
	// A cancelled call does not break the stream.
	if err := dep.ts[1].Send(context.Background(), 0, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if got, err := dep.ts[0].Recv(context.Background(), 1); err != nil || string(got) != "still here" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := dep.ts[0].Recv(context.Background(), 0); err == nil {
		t.Fatal("recv from self succeeded")
	}
	if err := dep.ts[0].Send(context.Background(), 5, nil); err == nil {
		t.Fatal("send to party 5 of 2 succeeded")
	}
}

func TestLibp2pLateStart(t *testing.T) {
	// Party 1 starts a second after party 0 began dialing it: party 0 retries.
	// Party 0 does not even listen: it dials every peer.
	port := freePort(t)
	keys, peers := testKeys(t, 2)
	addr, err := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
	if err != nil {
		t.Fatal(err)
	}
	// An address may carry its peer's /p2p/ suffix.
	withID, err := ma.NewMultiaddr(addr.String() + "/p2p/" + peers[1].ID.String())
	if err != nil {
		t.Fatal(err)
	}
	peers[1].Addrs = []ma.Multiaddr{withID}
	done := make(chan error, 1)
	var tr0 *Libp2pTransport
	go func() {
		var err error
		cfg0 := testConfig(0, keys[0], peers)
		cfg0.ListenAddrs = nil // party 0 only dials
		tr0, err = NewLibp2p(context.Background(), cfg0)
		done <- err
	}()
	time.Sleep(time.Second)
	cfg1 := testConfig(1, keys[1], peers)
	cfg1.ListenAddrs = []string{addr.String()}
	tr1, err := NewLibp2p(context.Background(), cfg1)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	defer closeAll([]*Libp2pTransport{tr0, tr1})
	if err := tr0.Send(context.Background(), 1, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if got, err := tr1.Recv(context.Background(), 0); err != nil || string(got) != "late" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestLibp2pConnectTimeout(t *testing.T) {
	// Party 1 never starts: Connect gives up after HandshakeTimeout, naming it.
	keys, peers := testKeys(t, 2)
	addr, _ := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)))
	peers[1].Addrs = []ma.Multiaddr{addr}
	for self := range 2 {
		cfg := testConfig(self, keys[self], peers)
		cfg.HandshakeTimeout = 700 * time.Millisecond
		start := time.Now()
		_, err := NewLibp2p(context.Background(), cfg)
		other := 1 - self
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("peer %d (%s)", other, peers[other].ID)) {
			t.Fatalf("party %d: got %v, want an error naming peer %d", self, err, other)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("party %d: gave up after %v", self, d)
		}
		t.Logf("party %d: %v", self, err)
	}
}

func TestLibp2pConfigValidation(t *testing.T) {
	keys, peers := testKeys(t, 3)
	cases := map[string]func(c *Libp2pConfig){
		"one party":       func(c *Libp2pConfig) { c.Peers = c.Peers[:1] },
		"self range":      func(c *Libp2pConfig) { c.Self = 3 },
		"wrong key":       func(c *Libp2pConfig) { c.Key = keys[1] },
		"no key":          func(c *Libp2pConfig) { c.Key = nil },
		"index mismatch":  func(c *Libp2pConfig) { c.Peers[2].Index = 1 },
		"duplicate ID":    func(c *Libp2pConfig) { c.Peers[2].ID = c.Peers[1].ID },
		"empty ID":        func(c *Libp2pConfig) { c.Peers[2].ID = "" },
		"no session":      func(c *Libp2pConfig) { c.Session = nil },
		"long session":    func(c *Libp2pConfig) { c.Session = make([]byte, 65) },
		"huge frames":     func(c *Libp2pConfig) { c.MaxFrameBytes = 1 << 33 },
		"bad listen addr": func(c *Libp2pConfig) { c.ListenAddrs = []string{"not-a-multiaddr"} },
		"addr names another peer": func(c *Libp2pConfig) {
			c.Peers[1].Addrs = []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/1/p2p/" + c.Peers[2].ID.String())}
		},
	}
	for name, edit := range cases {
		cfg := testConfig(0, keys[0], append([]PeerInfo(nil), peers...))
		edit(&cfg)
		if tr, err := NewLibp2pHost(cfg); err == nil {
			tr.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestLibp2pRejectsStrayStreams(t *testing.T) {
	dep := newTestDeployment(t, 2, nil)
	ctx := context.Background()
	for _, c := range []struct {
		from, to int
		want     string
	}{
		{1, 0, "party 1 dialed party 0, but in this deployment the lower index dials"},
		{0, 1, "party 1 already has a stream with party 0"},
	} {
		s, err := dep.ts[c.from].host.NewStream(ctx, dep.peers[c.to].ID, Libp2pProtocolID)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.SetDeadline(time.Now().Add(5 * time.Second))
		err = exchangeHandshake(s, dep.ts[c.from].hello, func(handshakeHello) string { return "" })
		_ = s.Close()
		var he *HandshakeError
		if !errors.As(err, &he) || !he.Remote || he.Reason != c.want {
			t.Errorf("stream %d->%d: got %v, want a rejection %q", c.from, c.to, err, c.want)
		}
	}
	// The admitted streams are unaffected.
	if err := dep.ts[1].Send(ctx, 0, []byte("fine")); err != nil {
		t.Fatal(err)
	}
	if got, err := dep.ts[0].Recv(ctx, 1); err != nil || string(got) != "fine" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestLibp2pSendBeforeRecvBothWays(t *testing.T) {
	// Both parties send many messages before either receives: the inboxes and
	// flow-control windows must absorb them rather than deadlock.
	dep := newTestDeployment(t, 2, nil)
	ctx := context.Background()
	const count = 3000
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			for k := range count {
				if err := dep.ts[i].Send(ctx, 1-i, []byte(fmt.Sprint(k))); err != nil {
					t.Error(err)
					return
				}
			}
			for k := range count {
				got, err := dep.ts[i].Recv(ctx, 1-i)
				if err != nil || string(got) != fmt.Sprint(k) {
					t.Errorf("party %d, message %d: %q, %v", i, k, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLibp2pInboxIsBounded(t *testing.T) {
	// A peer that sends faster than we Recv fills our inbox up to its byte budget;
	// then flow control holds it back, and everything still arrives in order.
	const size, count = 1 << 20, 120
	dep := newTestDeployment(t, 2, func(i int, c *Libp2pConfig) { c.MaxFrameBytes = size })
	ctx := context.Background()
	sent := make(chan error, 1)
	go func() {
		for k := range count {
			if err := dep.ts[0].Send(ctx, 1, testMessage(0, 1, k, size)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	time.Sleep(time.Second)
	p := dep.ts[1].slots[0].peer
	budget := inboxBytes(size)
	if q := p.queued.Load(); q > budget+size || q < budget/2 {
		t.Errorf("inbox holds %d bytes, budget %d", q, budget)
	}
	select {
	case err := <-sent:
		t.Fatalf("the sender finished (%v) while the receiver read nothing", err)
	default:
	}
	for k := range count {
		got, err := dep.ts[1].Recv(ctx, 0)
		if err != nil || !bytes.Equal(got, testMessage(0, 1, k, size)) {
			t.Fatalf("message %d: %d bytes, %v", k, len(got), err)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

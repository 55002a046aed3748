package run

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
)

// links are one party's channels to its peers: the online engine's, and with
// dealer-free preprocessing one each for the HE and the OT source, so that
// preprocessing traffic never interleaves with the engine's.
type links struct {
	online transport
	he, ot protocol.Transport
	// prep reports the preprocessing channels' traffic (nil with a dealer).
	prep []protocol.StatsReporter
}

// muxedLinks splits each party's transport into the online, HE and OT channels.
func muxedLinks(trs []transport) ([]links, func(), error) {
	var muxes []*network.Mux
	closeMuxes := func() {
		var wg sync.WaitGroup
		for _, m := range muxes {
			wg.Go(func() { m.Close() })
		}
		wg.Wait()
	}
	out := make([]links, len(trs))
	for i, t := range trs {
		m, err := network.NewMux(t, 3)
		if err != nil {
			closeMuxes()
			return nil, nil, err
		}
		muxes = append(muxes, m)
		out[i] = links{online: channelTransport{m.Channel(0), t}, he: m.Channel(1), ot: m.Channel(2),
			prep: []protocol.StatsReporter{m.Channel(1), m.Channel(2)}}
	}
	return out, closeMuxes, nil
}

// channelTransport is a mux channel that closes its underlying transport, so a
// failing party still wakes the peers that wait on it.
type channelTransport struct {
	*network.Channel
	under interface{ Close() error }
}

func (c channelTransport) Close() error { return c.under.Close() }

// parties is the wiring of a run on one machine: every party's links, and the
// dealer when there is one.
type parties struct {
	links      []links
	dealer     *protocol.Dealer
	remote     bool       // the dealer runs as its own libp2p node
	dealerDone chan error // the dealer node's outcome (nil at once without one)
	close      func()
}

// connectParties wires n parties on this machine: in memory (a network per
// protocol) or over libp2p hosts on 127.0.0.1 (the dealer as its own node, or a
// mux of online, HE and OT channels without one). A shaped link delays every
// message as that network would (network.Links): in memory the online, HE and OT
// networks share one wire per pair of parties; over libp2p the shaping comes on
// top of loopback's own (small) delay, and the dealer's node is on the same wire.
func connectParties(ctx context.Context, cfg *experiment.Config, transportKind TransportKind, link network.Link, rnd Randomness) (*parties, error) {
	n := cfg.Parties
	dealerFree := cfg.Preprocessing == experiment.PrepHE
	ps := &parties{links: make([]links, n), dealerDone: make(chan error, 1), close: func() {}}
	if !dealerFree {
		d, err := protocol.NewDealer(n, rnd.Dealer())
		if err != nil {
			return nil, err
		}
		ps.dealer = d
	}
	switch transportKind {
	case "", TransportMemory:
		nets := 1
		if dealerFree {
			nets = 3
		}
		wire := network.NewLinks(n, link, nil)
		all := make([][]transport, nets)
		for k := range all {
			var err error
			if all[k], err = memoryNet(n, wire); err != nil {
				return nil, err
			}
		}
		for i := range ps.links {
			ps.links[i].online = all[0][i]
			if dealerFree {
				ps.links[i].he, ps.links[i].ot = all[1][i], all[2][i]
				ps.links[i].prep = []protocol.StatsReporter{all[1][i], all[2][i]}
			}
		}
		ps.dealerDone <- nil
	case TransportLibp2p:
		members := n + 1 // the dealer's node
		if dealerFree {
			members = n
		}
		lp, err := loopbackLibp2p(ctx, members, cfg.Hash())
		if err != nil {
			return nil, err
		}
		trs, err := shapeAll(lp, network.NewLinks(members, link, nil))
		if err != nil {
			closeAll(lp)
			return nil, err
		}
		dealerLink := trs[n:]
		trs = trs[:n]
		if dealerFree {
			ls, closeMuxes, err := muxedLinks(trs)
			if err != nil {
				closeAll(lp)
				return nil, err
			}
			ps.links = ls
			ps.close = func() { closeMuxes(); closeAll(lp) }
			ps.dealerDone <- nil
		} else {
			for i := range ps.links {
				ps.links[i].online = trs[i]
			}
			dctx, cancel := context.WithCancel(ctx)
			go func() { ps.dealerDone <- protocol.ServeDealer(dctx, dealerLink[0], ps.dealer) }()
			ps.close = func() { cancel(); closeAll(lp) }
			ps.remote = true
		}
	default:
		return nil, experiment.OneOf("transport", transportKind, []TransportKind{TransportMemory, TransportLibp2p})
	}
	return ps, nil
}

// memoryNet is an in-memory network of n parties, shaped by wire unless its link
// is the in-memory one.
func memoryNet(n int, wire *network.Links) ([]transport, error) {
	mem, err := network.NewMemoryNetwork(n)
	if err != nil {
		return nil, err
	}
	return shapeAll(mem, wire)
}

// shapeAll returns the transports as they are when wire's link is unshaped, or
// wrapped on wire.
func shapeAll[T transport](ts []T, wire *network.Links) ([]transport, error) {
	out := make([]transport, len(ts))
	if !wire.Link().Shaped() {
		for i, t := range ts {
			out[i] = t
		}
		return out, nil
	}
	inner := make([]protocol.Transport, len(ts))
	for i, t := range ts {
		inner[i] = t
	}
	shaped, err := wire.Shape(inner)
	if err != nil {
		return nil, err
	}
	for i, t := range shaped {
		out[i] = t
	}
	return out, nil
}

// material is where party i's preprocessing comes from in this wiring.
func (ps *parties) material(rnd Randomness) material {
	m := material{remote: ps.remote, parties: len(ps.links), rnd: rnd}
	if !ps.remote {
		m.dealer = ps.dealer
	}
	return m
}

// loopbackLibp2p starts n real libp2p hosts on 127.0.0.1 with fresh identities and
// connects them: a deployment on one machine, for simulation and tests.
func loopbackLibp2p(ctx context.Context, n int, session [32]byte) ([]*network.Libp2pTransport, error) {
	keys := make([]crypto.PrivKey, n)
	peers := make([]network.PeerInfo, n)
	for i := range keys {
		k, err := network.GenerateIdentity()
		if err != nil {
			return nil, err
		}
		id, err := network.PeerIDFromKey(k)
		if err != nil {
			return nil, err
		}
		keys[i], peers[i] = k, network.PeerInfo{Index: i, ID: id}
	}
	ts := make([]*network.Libp2pTransport, n)
	closeStarted := func() {
		var started []*network.Libp2pTransport
		for _, t := range ts {
			if t != nil {
				started = append(started, t)
			}
		}
		closeAll(started)
	}
	for i := range ts {
		t, err := network.NewLibp2pHost(network.Libp2pConfig{
			Self: i, Key: keys[i], ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Peers: peers, Session: session[:],
		})
		if err != nil {
			closeStarted()
			return nil, err
		}
		ts[i] = t
		peers[i].Addrs = t.Addrs()
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, t := range ts {
		wg.Go(func() {
			if err := t.Connect(ctx, peers); err != nil {
				errs[i] = fmt.Errorf("party %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeStarted()
		return nil, err
	}
	return ts, nil
}

// TransportKind is how the parties of a simulation or benchmark talk.
type TransportKind string

// The transports.
const (
	// TransportMemory: in-process queues (and an in-process dealer).
	TransportMemory TransportKind = "memory"
	// TransportLibp2p: real hosts on 127.0.0.1 (the dealer as its own node).
	TransportLibp2p TransportKind = "libp2p"
)

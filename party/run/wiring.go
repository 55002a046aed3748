package run

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/libp2p/go-libp2p/core/crypto"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
)

// links are one party's channels to its peers: the online engine's, and with
// dealer-free preprocessing one each for the HE and the OT source, so that
// preprocessing traffic never interleaves with the engine's.
type links struct {
	online transport
	// dealer is the channel to the dealer's node, when it runs as one.
	dealer protocol.Transport
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

// Channels of a deployment with a dealer's node: the dealer's traffic (party
// N-1 asks ahead of the computation) has a channel of its own, so that it never
// interleaves with the online engine's, nor counts in its rounds.
const (
	onlineChannel = iota
	dealerChannel
	dealerChannels // how many
)

// dealerLinks splits a party's transport into the online channel and the
// channel to the dealer's node; the function closes the mux.
func dealerLinks(tr transport) (links, func(), error) {
	m, err := network.NewMux(tr, dealerChannels)
	if err != nil {
		return links{}, nil, err
	}
	return links{online: channelTransport{m.Channel(onlineChannel), tr}, dealer: m.Channel(dealerChannel)}, func() { m.Close() }, nil
}

// dealerOnDemand is party N-1's links when it asks the dealer's node one
// request at a time: each request is then a round trip on the critical path, so
// the online link's counts include the dealer channel's (as when they shared one
// link), and the bound on a step's time counts them.
func dealerOnDemand(l links) links {
	if d, ok := l.dealer.(protocol.StatsReporter); ok {
		l.online = withDealerTraffic{transport: l.online, dealer: d}
	}
	return l
}

// withDealerTraffic is a link whose counts include the dealer channel's.
type withDealerTraffic struct {
	transport
	dealer protocol.StatsReporter
}

// Stats implements protocol.StatsReporter.
func (w withDealerTraffic) Stats() protocol.Stats {
	s, d := w.transport.Stats(), w.dealer.Stats()
	s.BytesSent += d.BytesSent
	s.BytesReceived += d.BytesReceived
	s.Rounds += d.Rounds
	s.Peers = slices.Clone(s.Peers)
	for p := range min(len(s.Peers), len(d.Peers)) {
		s.Peers[p].BytesSent += d.Peers[p].BytesSent
		s.Peers[p].BytesReceived += d.Peers[p].BytesReceived
		s.Peers[p].MessagesSent += d.Peers[p].MessagesSent
		s.Peers[p].MessagesRecv += d.Peers[p].MessagesRecv
	}
	return s
}

// nodeLinks are a deployed party's links over its transport: online, HE and OT
// channels without a dealer, online and dealer channels with one.
func nodeLinks(tr transport, dealerFree bool) (links, func(), error) {
	if !dealerFree {
		return dealerLinks(tr)
	}
	ls, closeMuxes, err := muxedLinks([]transport{tr})
	if err != nil {
		return links{}, nil, err
	}
	return ls[0], closeMuxes, nil
}

// serveDealerNode plays the dealer's node over its transport: the dealer's
// channel of it (see dealerLinks).
func serveDealerNode(ctx context.Context, tr protocol.Transport, d *protocol.Dealer, opts ...protocol.ServeOption) error {
	m, err := network.NewMux(tr, dealerChannels)
	if err != nil {
		return err
	}
	defer m.Close()
	return protocol.ServeDealer(ctx, m.Channel(dealerChannel), d, opts...)
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
// message as that network would: in memory by the model (network.Links; the
// online, HE and OT networks share one wire per pair of parties), over libp2p on
// the real socket path, every connection through a shaping proxy
// (network.ShapingProxy), the dealer's node's included. A config of opening auto
// gets its pick for this network.
func connectParties(ctx context.Context, cfg *experiment.Config, transportKind TransportKind, link network.Link, rnd Randomness) (*parties, error) {
	cfg.ChooseOpeningFor(link.Shaped())
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
		lp, closeProxies, err := loopbackLibp2p(ctx, members, cfg.Hash(), link)
		if err != nil {
			return nil, err
		}
		closeHosts := func() { closeAll(lp); closeProxies() }
		trs := make([]transport, n)
		for i := range trs {
			trs[i] = lp[i]
		}
		if dealerFree {
			ls, closeMuxes, err := muxedLinks(trs)
			if err != nil {
				closeHosts()
				return nil, err
			}
			ps.links = ls
			ps.close = func() { closeMuxes(); closeHosts() }
			ps.dealerDone <- nil
		} else {
			var closers []func()
			closeLinks := func() {
				for _, c := range closers {
					c()
				}
			}
			for i := range ps.links {
				l, closeMux, err := dealerLinks(trs[i])
				if err != nil {
					closeLinks()
					closeHosts()
					return nil, err
				}
				ps.links[i], closers = l, append(closers, closeMux)
			}
			// Simulations and benchmarks record no plan for a dealer: it is asked on demand.
			ps.links[n-1] = dealerOnDemand(ps.links[n-1])
			dctx, cancel := context.WithCancel(ctx)
			// The parties agree whether they resume; the in-process dealer follows.
			go func() { ps.dealerDone <- serveDealerNode(dctx, lp[n], ps.dealer, protocol.AcceptResumed()) }()
			ps.close = func() { cancel(); closeLinks(); closeHosts() }
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
// connects them: a deployment on one machine, for simulation and tests. On a
// shaped link every host is reached through a shaping proxy of its own, so every
// connection (one per pair: the lower index dials) crosses that link; the
// returned function closes the proxies.
func loopbackLibp2p(ctx context.Context, n int, session [32]byte, link network.Link) ([]*network.Libp2pTransport, func(), error) {
	keys := make([]crypto.PrivKey, n)
	peers := make([]network.PeerInfo, n)
	for i := range keys {
		k, err := network.GenerateIdentity()
		if err != nil {
			return nil, nil, err
		}
		id, err := network.PeerIDFromKey(k)
		if err != nil {
			return nil, nil, err
		}
		keys[i], peers[i] = k, network.PeerInfo{Index: i, ID: id}
	}
	ts := make([]*network.Libp2pTransport, n)
	var proxies []*network.ShapingProxy
	closeProxies := func() {
		for _, p := range proxies {
			p.Close()
		}
	}
	closeStarted := func() {
		var started []*network.Libp2pTransport
		for _, t := range ts {
			if t != nil {
				started = append(started, t)
			}
		}
		closeAll(started)
		closeProxies()
	}
	for i := range ts {
		t, err := network.NewLibp2pHost(network.Libp2pConfig{
			Self: i, Key: keys[i], ListenAddrs: []string{"/ip4/127.0.0.1/tcp/0"}, Peers: peers, Session: session[:],
		})
		if err != nil {
			closeStarted()
			return nil, nil, err
		}
		ts[i] = t
		peers[i].Addrs = t.Addrs()
		if link.Shaped() {
			addr, err := proxiedAddr(t.Addrs(), link, &proxies)
			if err != nil {
				closeStarted()
				return nil, nil, err
			}
			peers[i].Addrs = []ma.Multiaddr{addr}
		}
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
		return nil, nil, err
	}
	return ts, closeProxies, nil
}

// proxiedAddr starts a shaping proxy to a host's TCP address and returns the
// proxy's address, appending the proxy to proxies.
func proxiedAddr(addrs []ma.Multiaddr, link network.Link, proxies *[]*network.ShapingProxy) (ma.Multiaddr, error) {
	for _, a := range addrs {
		ip, errIP := a.ValueForProtocol(ma.P_IP4)
		port, errPort := a.ValueForProtocol(ma.P_TCP)
		if errIP != nil || errPort != nil {
			continue
		}
		p, err := network.NewShapingProxy(net.JoinHostPort(ip, port), link)
		if err != nil {
			return nil, err
		}
		*proxies = append(*proxies, p)
		return ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p.Addr().Port))
	}
	return nil, fmt.Errorf("no TCP address among %v to shape", addrs)
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

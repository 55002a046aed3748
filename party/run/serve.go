package run

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/he"
)

// ServeSession is what a serving party (node serve) gets from its deployment:
// the online engine with the experiment's preprocessing, a key setup dedicated
// to encrypted queries, and three channels to the other parties (the leader's
// queries and the masked shares, the answer shares, and queries forwarded to
// the leader), none shared with the engine or the preprocessing.
type ServeSession struct {
	Self, Parties int
	Config        *experiment.Config
	PeerIDs       []string
	Engine        *protocol.Engine
	Keys          *he.Party
	Control       protocol.Transport
	Answers       protocol.Transport
	Forward       protocol.Transport
}

// Serving channels of a party's mux. The first two are dealerLinks' (the
// dealer's node reads and writes its channel of a mux of the same layout),
// then the preprocessing channels of a dealer-free session and the serving
// ones.
const (
	chanOnline = onlineChannel
	chanDealer = dealerChannel
	chanHE     = dealerChannels + iota - 2 // the first after dealerLinks'
	chanOT
	chanQueryKeys
	chanControl
	chanForward
	chanAnswers
	serveChannels
)

// Serve connects this party to its peers as `node run` does (the dealer's node
// too when the experiment uses one), sets up the query keys and the engine, and
// runs fn until it returns; then it ends the session.
func Serve(ctx context.Context, nc *NodeConfig, opts NodeOptions, fn func(context.Context, *ServeSession) error) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := nc.loadExperiment(opts)
	if err != nil {
		return err
	}
	if nc.Role != RoleParty {
		return fmt.Errorf("serve: the config is for a %s node", nc.Role)
	}
	var ids []string
	for _, p := range nc.Parties {
		ids = append(ids, p.ID)
	}
	_, err = withPeers(ctx, nc, cfg, opts, log, func(tr *network.Libp2pTransport) (struct{}, error) {
		return struct{}{}, serveWithPeers(ctx, cfg, nc.Party, ids, tr, opts, fn)
	})
	return err
}

// serveWithPeers splits the connection into channels and builds the session.
// With a dealer's node the mux reads it too (member n of the transport), as
// `node run`'s dealerLinks do; the channels among the parties are then seen
// without it.
func serveWithPeers(ctx context.Context, cfg *experiment.Config, self int, ids []string, tr *network.Libp2pTransport, opts NodeOptions, fn func(context.Context, *ServeSession) error) error {
	n := cfg.Parties
	dealerFree := cfg.Preprocessing == experiment.PrepHE
	var muxed protocol.Transport = tr
	if dealerFree {
		muxed = partiesOnly{Libp2pTransport: tr, n: n}
	}
	mux, err := network.NewMux(muxed, serveChannels)
	if err != nil {
		return err
	}
	defer mux.Close()
	among := func(c int) amongParties { return amongParties{Channel: mux.Channel(c), n: n} }
	l := links{online: channelTransport{mux.Channel(chanOnline), tr}, he: among(chanHE), ot: among(chanOT),
		prep: []protocol.StatsReporter{mux.Channel(chanHE), mux.Channel(chanOT)}}
	if !dealerFree {
		l.dealer = mux.Channel(chanDealer)
	}
	keys, err := he.Setup(ctx, among(chanQueryKeys))
	if err != nil {
		return fmt.Errorf("party %d: query key setup: %w", self, err)
	}
	nd, err := buildNode(ctx, nodeSpec{cfg: cfg, self: self, links: l,
		material: material{remote: !dealerFree, parties: n, rnd: opts.Randomness}, engine: engineConfig(cfg, opts.Randomness, self)})
	if err != nil {
		return fmt.Errorf("party %d: %w", self, err)
	}
	defer nd.stop()
	s := &ServeSession{Self: self, Parties: n, Config: cfg, PeerIDs: ids, Engine: nd.engine, Keys: keys,
		Control: among(chanControl), Answers: among(chanAnswers), Forward: among(chanForward)}
	if err := fn(ctx, s); err != nil {
		return err
	}
	return nd.end(context.WithoutCancel(ctx))
}

// partiesOnly is a transport seen without its dealer member: what the mux
// reads from in a dealer-free session. It keeps the transport's message bound
// and inbox budget, which the mux and its channels pass on.
type partiesOnly struct {
	*network.Libp2pTransport
	n int
}

func (p partiesOnly) Parties() int { return p.n }

// amongParties is a mux channel seen without the dealer's node: the key
// setup and the serving steps run among the parties only. It keeps the
// channel's message bound and counts.
type amongParties struct {
	*network.Channel
	n int
}

func (a amongParties) Parties() int { return a.n }

// ServeExperiment is the experiment the node config names, as Serve loads
// it: `node serve` checks its model against it before connecting.
func (nc *NodeConfig) ServeExperiment(opts NodeOptions) (*experiment.Config, error) {
	return nc.loadExperiment(opts)
}

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

// Serving channels of a party's mux; the first three are muxedLinks'.
const (
	chanOnline = iota
	chanHE
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
// The mux carries the parties' traffic only; a remote dealer (member n of the
// transport) is reached on the transport itself, as in `node run`.
func serveWithPeers(ctx context.Context, cfg *experiment.Config, self int, ids []string, tr *network.Libp2pTransport, opts NodeOptions, fn func(context.Context, *ServeSession) error) error {
	n := cfg.Parties
	mux, err := network.NewMux(partiesOnly{Libp2pTransport: tr, n: n}, serveChannels)
	if err != nil {
		return err
	}
	defer mux.Close()
	dealerFree := cfg.Preprocessing == experiment.PrepHE
	var online transport = channelTransport{mux.Channel(chanOnline), tr}
	if !dealerFree {
		online = withDealer{transport: online, dealer: tr, n: n}
	}
	l := links{online: online, he: mux.Channel(chanHE), ot: mux.Channel(chanOT),
		prep: []protocol.StatsReporter{mux.Channel(chanHE), mux.Channel(chanOT)}}
	keys, err := he.Setup(ctx, mux.Channel(chanQueryKeys))
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
		Control: mux.Channel(chanControl), Answers: mux.Channel(chanAnswers), Forward: mux.Channel(chanForward)}
	if err := fn(ctx, s); err != nil {
		return err
	}
	return nd.end(context.WithoutCancel(ctx))
}

// partiesOnly is a transport seen without its dealer member: what the mux
// reads from. It keeps the transport's message bound and inbox budget, which
// the mux and its channels pass on.
type partiesOnly struct {
	*network.Libp2pTransport
	n int
}

func (p partiesOnly) Parties() int { return p.n }

// withDealer is the online channel with the dealer member reached on the
// underlying transport.
type withDealer struct {
	transport
	dealer protocol.Transport
	n      int
}

func (w withDealer) Parties() int { return w.n + 1 }

// MaxMessageBytes is the online channel's bound (the engine sizes its
// messages by it).
func (w withDealer) MaxMessageBytes() int {
	if b, ok := w.transport.(interface{ MaxMessageBytes() int }); ok {
		return b.MaxMessageBytes()
	}
	return 0
}

func (w withDealer) Send(ctx context.Context, to int, msg []byte) error {
	if to == w.n {
		return w.dealer.Send(ctx, to, msg)
	}
	return w.transport.Send(ctx, to, msg)
}

func (w withDealer) Recv(ctx context.Context, from int) ([]byte, error) {
	if from == w.n {
		return w.dealer.Recv(ctx, from)
	}
	return w.transport.Recv(ctx, from)
}

// ServeExperiment is the experiment the node config names, as Serve loads
// it: `node serve` checks its model against it before connecting.
func (nc *NodeConfig) ServeExperiment(opts NodeOptions) (*experiment.Config, error) {
	return nc.loadExperiment(opts)
}

package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/checkpoint"
	"github.com/tessera-mpc/tessera/party/experiment"
)

// Rejoin without an operator. When a node's session fails because a peer was
// lost (it crashed, was killed or cut off: network.ErrPeerLost; not an abort,
// not a protocol violation), the node does not give up at once: it gives the
// others rejoinGrace to abort instead (a party that cannot roll back does), then
// reopens its session and waits up to rejoin_timeout for every node, the lost one
// restarted with `--resume`, to be admitted again (same peer IDs: the gater and
// the handshake refuse any other). The parties then agree on the newest
// checkpoint all of them hold, exactly as a resume does, and continue from it;
// the dealer starts a new session at the position they agreed on. Past the
// timeout the node exits, naming the peer that did not come back.

// DefaultRejoinTimeout is rejoin_timeout when a node config does not set it.
const DefaultRejoinTimeout = 3 * time.Minute

// rejoinGrace is how long a node that lost a peer waits for another node's abort
// before it waits for the lost one.
const rejoinGrace = time.Second

// rejoinPolicy says whether a node waits for a lost peer to come back.
type rejoinPolicy struct {
	timeout time.Duration // <= 0: never
	// ready says whether the node can roll back now (nil: always).
	ready func() bool
}

// allows says whether the node waits for a peer after its session failed with err.
func (r rejoinPolicy) allows(ctx context.Context, err error) bool {
	if r.timeout <= 0 || ctx.Err() != nil || !errors.Is(err, network.ErrPeerLost) {
		return false
	}
	if _, aborted := errors.AsType[*network.PeerAbortError](err); aborted {
		return false
	}
	return r.ready == nil || r.ready()
}

// partyRejoin is a party's policy: it rolls back to a checkpoint, so it waits
// for a lost peer only once it holds one.
func partyRejoin(nc *NodeConfig) rejoinPolicy {
	dir := nc.path(nc.CheckpointDir)
	if dir == "" {
		return rejoinPolicy{}
	}
	return rejoinPolicy{timeout: nc.RejoinTimeout, ready: func() bool {
		found, _, err := checkpoint.List(dir)
		return err == nil && len(found) > 0
	}}
}

// sessions connects node self to its peers, runs fn over the connection and
// ends it. After a lost peer that policy lets it wait for, it reopens the
// session, waits for every peer again and reruns fn, resuming; after any other
// failure it tells the peers why (leave).
func sessions[T any](ctx context.Context, nc *NodeConfig, cfg *experiment.Config, opts NodeOptions, log *slog.Logger, self int, policy rejoinPolicy,
	fn func(tr *network.Libp2pTransport, resume bool) (T, error)) (T, error) {
	var zero T
	name := fmt.Sprintf("party %d", self)
	if self == cfg.Parties {
		name = "dealer"
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	tr, err := nc.connect(ctx, cfg, self, opts.Randomness, log)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", name, err)
	}
	resume := opts.Resume
	for {
		res, err := fn(tr, resume)
		if err == nil {
			if err := tr.Close(); err != nil {
				log.Warn("closing the transport", "err", err)
			}
			return res, nil
		}
		if !policy.allows(ctx, err) {
			leave(tr, err)
			return zero, err
		}
		if abort := tr.AbortWithin(ctx, rejoinGrace); abort != nil {
			tr.Close()
			return zero, fmt.Errorf("%w; then %w", err, abort)
		}
		fmt.Fprintf(progress, "%s: %s; waiting up to %v for every node to rejoin\n", name, firstLine(err.Error()), policy.timeout)
		log.Warn("a peer was lost: waiting for it to rejoin", "err", err, "rejoin_timeout", policy.timeout)
		if tr, err = rejoin(ctx, tr, policy.timeout, err); err != nil {
			return zero, fmt.Errorf("%s: %w", name, err)
		}
		log.Info("every peer is back: rolling back to the newest common checkpoint")
		resume = true
	}
}

// rejoin reopens tr's session after lostErr and connects it again within timeout.
func rejoin(ctx context.Context, tr *network.Libp2pTransport, timeout time.Duration, lostErr error) (*network.Libp2pTransport, error) {
	next, err := tr.Reopen(timeout)
	if err != nil {
		return nil, err
	}
	if err := next.Connect(ctx, nil); err != nil {
		next.Close()
		return nil, fmt.Errorf("not every node was back within rejoin_timeout %v after %s: %w", timeout, firstLine(lostErr.Error()), err)
	}
	return next, nil
}

package party

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/libp2p/go-libp2p/core/crypto"

	"github.com/tessera-mpc/tessera/network"
)

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

package network

import (
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	lpnet "github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// lpGater admits only the deployment's other parties. Inbound connections are
// judged once the Noise handshake has authenticated the remote peer ID
// (InterceptSecured); outbound dials are refused before they start.
//
// A listener's refusal is invisible to the dialer's host.Connect, which returns nil
// because its own security handshake completed: the dialer only notices when its
// stream or the application handshake fails.
type lpGater struct {
	allowed map[peer.ID]struct{}
	refused atomic.Int64 // connections and dials refused, for tests and diagnostics
}

var _ connmgr.ConnectionGater = (*lpGater)(nil)

func newLpGater(self peer.ID, peers []PeerInfo) *lpGater {
	g := &lpGater{allowed: make(map[peer.ID]struct{}, len(peers))}
	for _, p := range peers {
		if p.ID != self {
			g.allowed[p.ID] = struct{}{}
		}
	}
	return g
}

func (g *lpGater) admit(p peer.ID) bool {
	if _, ok := g.allowed[p]; ok {
		return true
	}
	g.refused.Add(1)
	return false
}

func (g *lpGater) InterceptPeerDial(p peer.ID) bool { return g.admit(p) }

func (g *lpGater) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return g.admit(p) }

// InterceptAccept lets every inbound TCP connection reach the security handshake:
// the remote's identity is unknown before it.
func (g *lpGater) InterceptAccept(lpnet.ConnMultiaddrs) bool { return true }

func (g *lpGater) InterceptSecured(_ lpnet.Direction, p peer.ID, _ lpnet.ConnMultiaddrs) bool {
	return g.admit(p)
}

// InterceptUpgraded re-checks the peer: the connection was already secured, so
// this only matters if a transport ever skips InterceptSecured.
func (g *lpGater) InterceptUpgraded(c lpnet.Conn) (bool, control.DisconnectReason) {
	return g.admit(c.RemotePeer()), 0
}

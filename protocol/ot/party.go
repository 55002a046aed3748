package ot

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cloudflare/circl/group"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// ErrMalformed is wrapped by every error about a peer's message that does not
// have the expected tag, batch or length.
var ErrMalformed = errors.New("ot: malformed message")

// baseGroup is the group of the base OTs (circl ot/simot, Chou-Orlandi "simplest
// OT"): ristretto255, about 128-bit security.
var baseGroup = group.Ristretto255

// Message tags.
const (
	tagBaseA uint64 = 0x4f54_0001 + iota
	tagBaseB
	tagBaseE
	tagU
	tagE
)

const headerBytes = 16

// Party is one party's OT machinery: an IKNP extension with every peer in both
// directions, set up once by Setup. It implements protocol.Source for AND
// triples, daBits and truncation pairs. Its methods must be called by all
// parties with the same requests in the same order; a Party serialises its own
// calls.
type Party struct {
	mu     sync.Mutex
	tr     protocol.Transport
	self   int
	n      int
	h      crHash
	send   []*extSender   // send[p]: this party is the OT sender to peer p
	recv   []*extReceiver // recv[p]: this party is the OT receiver from peer p
	secret sharing.Seed   // this party's private randomness (a_i, b_i, r_i)
	stream uint64
	// daBitBatches counts the daBit batches made: it rotates their fold order.
	daBitBatches uint64
}

var _ protocol.Source = (*Party)(nil)

// Setup runs 128 base OTs (circl ot/simot) for every ordered pair of parties
// and returns the party's extension state. tr must carry only this package's
// messages. All parties call Setup at the same time.
func Setup(ctx context.Context, tr protocol.Transport) (*Party, error) {
	return setup(ctx, tr, rand.Reader)
}

// setup runs the three flights of the base OTs with every peer: each flight
// is a pure step of baseOTs (baseot.go) per peer and one message to it.
func setup(ctx context.Context, tr protocol.Transport, rng io.Reader) (*Party, error) {
	n, self := tr.Parties(), tr.Self()
	if n < 2 || self < 0 || self >= n {
		return nil, fmt.Errorf("ot: party %d of %d: need at least 2 parties", self, n)
	}
	p := &Party{tr: tr, self: self, n: n, h: newCRHash(),
		send: make([]*extSender, n), recv: make([]*extReceiver, n)}
	var err error
	if p.secret, err = sharing.NewSeed(rng); err != nil {
		return nil, err
	}
	base := make([]*baseOTs, n)
	// Flight 1: as base-OT sender, send A = [a]G for each of 128 OTs.
	for q := range n {
		if q == self {
			continue
		}
		if base[q], err = newBaseOTs(self, q, rng); err != nil {
			return nil, err
		}
		p.recv[q], p.send[q] = base[q].recv, base[q].send
		body, err := base[q].senderA()
		if err != nil {
			return nil, err
		}
		if err := tr.Send(ctx, q, append(header(tagBaseA, 0, len(body)), body...)); err != nil {
			return nil, fmt.Errorf("ot: party %d: base OT A to party %d: %w", self, q, err)
		}
	}
	// Flight 2: as base-OT receiver, answer every A with B.
	if err := p.baseFlight(ctx, base, tagBaseA, baseALen, "base OT A", tagBaseB, "base OT B", (*baseOTs).receiverB); err != nil {
		return nil, err
	}
	// Flight 3: as base-OT sender, encrypt both seeds under the keys from B.
	if err := p.baseFlight(ctx, base, tagBaseB, baseALen, "base OT B", tagBaseE, "base OT ciphertexts", (*baseOTs).senderE); err != nil {
		return nil, err
	}
	// Decrypt the chosen seeds.
	for q := range n {
		if q == self {
			continue
		}
		body, err := p.recvMsg(ctx, q, tagBaseE, 0, baseELen, "base OT ciphertexts")
		if err != nil {
			return nil, err
		}
		if err := base[q].receiverSeeds(body); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// baseFlight receives every peer's message of one base-OT flight and answers
// it with the step's output, peer by peer.
func (p *Party) baseFlight(ctx context.Context, base []*baseOTs, inTag uint64, inLen int, inName string,
	outTag uint64, outName string, step func(*baseOTs, []byte) ([]byte, error)) error {
	for q := range p.n {
		if q == p.self {
			continue
		}
		in, err := p.recvMsg(ctx, q, inTag, 0, inLen, inName)
		if err != nil {
			return err
		}
		out, err := step(base[q], in)
		if err != nil {
			return err
		}
		if err := p.tr.Send(ctx, q, append(header(outTag, 0, len(out)), out...)); err != nil {
			return fmt.Errorf("ot: party %d: %s to party %d: %w", p.self, outName, q, err)
		}
	}
	return nil
}

// header starts a message: tag and batch, with room for body bytes.
func header(tag, batch uint64, body int) []byte {
	msg := make([]byte, headerBytes, headerBytes+body)
	binary.LittleEndian.PutUint64(msg[:8], tag)
	binary.LittleEndian.PutUint64(msg[8:], batch)
	return msg
}

// recvMsg receives the next message from peer q and checks its tag, batch and
// body length; it returns the body.
func (p *Party) recvMsg(ctx context.Context, q int, tag, batch uint64, body int, step string) ([]byte, error) {
	msg, err := p.tr.Recv(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("ot: party %d: %s from party %d: %w", p.self, step, q, err)
	}
	if len(msg) != headerBytes+body {
		return nil, fmt.Errorf("ot: party %d: %s from party %d has %d bytes, want %d: %w", p.self, step, q, len(msg), headerBytes+body, ErrMalformed)
	}
	if gt, gb := binary.LittleEndian.Uint64(msg[:8]), binary.LittleEndian.Uint64(msg[8:16]); gt != tag || gb != batch {
		return nil, fmt.Errorf("ot: party %d: %s from party %d has tag %#x batch %d, want %#x batch %d: %w", p.self, step, q, gt, gb, tag, batch, ErrMalformed)
	}
	return msg[headerBytes:], nil
}

// recvWords receives a message of exactly words 64-bit words.
func (p *Party) recvWords(ctx context.Context, q int, tag, batch uint64, words int, step string) ([]uint64, error) {
	body, err := p.recvMsg(ctx, q, tag, batch, 8*words, step)
	if err != nil {
		return nil, err
	}
	out := make([]uint64, words)
	sharing.GetWords(out, body)
	return out, nil
}

// sendWords sends words under a header.
func (p *Party) sendWords(ctx context.Context, q int, tag, batch uint64, words []uint64, step string) error {
	msg := header(tag, batch, 8*len(words))
	msg = msg[:headerBytes+8*len(words)]
	sharing.PutWords(msg[headerBytes:], words)
	if err := p.tr.Send(ctx, q, msg); err != nil {
		return fmt.Errorf("ot: party %d: %s to party %d: %w", p.self, step, q, err)
	}
	return nil
}

// private returns n fresh words of this party's private randomness (AES-CTR
// under a crypto/rand seed, a new stream per call).
func (p *Party) private(n int) []uint64 {
	out := make([]uint64, n)
	sharing.NewPRG(p.secret, p.stream).Fill(out)
	p.stream++
	return out
}

// Peers are served in parallel: the extension of one ordered pair touches only
// that pair's state (and the shared, read-only hash), so a party runs its
// halves of a batch with all peers at once, one goroutine each, and its cores,
// not the peers one after another, bound the batch. Messages still go out and
// come in peer by peer, in a fixed order.

// peers is every party but this one.
func (p *Party) peers() []int {
	out := make([]int, 0, p.n-1)
	for q := range p.n {
		if q != p.self {
			out = append(out, q)
		}
	}
	return out
}

// extendAsReceiver runs the receiver's half of a batch with every peer in
// peers at once and sends each its u; it returns x_c and the batch number per
// peer (indexed by party). The x_c come from getWords: a caller may give them
// back with putWords.
func (p *Party) extendAsReceiver(ctx context.Context, peers []int, choices []uint64, mode int, step string) (xc [][]uint64, batches []uint64, err error) {
	xc, batches = make([][]uint64, p.n), make([]uint64, p.n)
	us := make([]wordMessage, p.n) // u is written in place in its message
	var wg sync.WaitGroup
	for _, q := range peers {
		batches[q] = p.recv[q].batch
		us[q] = newWordMessage(tagU, batches[q], uWords(len(choices)))
		xc[q] = getWords(outLen(mode, len(choices)))
		if mode == outBits {
			clear(xc[q])
		}
		wg.Go(func() { p.recv[q].extendInto(p.h, choices, mode, us[q].body(), xc[q]) })
	}
	wg.Wait()
	for _, q := range peers {
		if err := p.sendMessage(ctx, q, us[q], step); err != nil {
			return nil, nil, err
		}
	}
	return xc, batches, nil
}

// extendAsSender receives u from every peer in peers and runs the sender's
// halves at once; it returns both messages and the batch number per peer.
func (p *Party) extendAsSender(ctx context.Context, peers []int, w, mode int, step string) (x0, x1 [][]uint64, batches []uint64, err error) {
	x0, x1, batches = make([][]uint64, p.n), make([][]uint64, p.n), make([]uint64, p.n)
	us := make([][]uint64, p.n)
	for _, q := range peers {
		batches[q] = p.send[q].batch
		if us[q], err = p.recvWords(ctx, q, tagU, batches[q], uWords(w), step); err != nil {
			return nil, nil, nil, err
		}
	}
	var wg sync.WaitGroup
	for _, q := range peers {
		wg.Go(func() { x0[q], x1[q] = p.send[q].extend(p.h, us[q], w, mode) })
	}
	wg.Wait()
	return x0, x1, batches, nil
}

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
	"github.com/cloudflare/circl/ot/simot"

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
	h      tccr
	send   []*extSender   // send[p]: this party is the OT sender to peer p
	recv   []*extReceiver // recv[p]: this party is the OT receiver from peer p
	secret sharing.Seed   // this party's private randomness (a_i, b_i, r_i)
	stream uint64
}

var _ protocol.Source = (*Party)(nil)

// Setup runs 128 base OTs (circl ot/simot) for every ordered pair of parties
// and returns the party's extension state. tr must carry only this package's
// messages. All parties call Setup at the same time.
func Setup(ctx context.Context, tr protocol.Transport) (*Party, error) {
	return setup(ctx, tr, rand.Reader)
}

func setup(ctx context.Context, tr protocol.Transport, rng io.Reader) (*Party, error) {
	n, self := tr.Parties(), tr.Self()
	if n < 2 || self < 0 || self >= n {
		return nil, fmt.Errorf("ot: party %d of %d: need at least 2 parties", self, n)
	}
	p := &Party{tr: tr, self: self, n: n, h: newTCCR(),
		send: make([]*extSender, n), recv: make([]*extReceiver, n)}
	var err error
	if p.secret, err = sharing.NewSeed(rng); err != nil {
		return nil, err
	}
	elemLen := int(baseGroup.Params().CompressedElementLength)
	// Flight 1: as base-OT sender (the extension receiver from peer q holds both
	// seeds of every column), send A = [a]G for each of 128 OTs.
	senders := make([][]simot.Sender, n)
	choices := make([][kappa]int, n)
	for q := range n {
		if q == self {
			continue
		}
		r := &extReceiver{}
		s := &extSender{}
		var d [16]byte
		if _, err := io.ReadFull(rng, d[:]); err != nil {
			return nil, fmt.Errorf("ot: drawing Delta: %w", err)
		}
		s.s0, s.s1 = binary.LittleEndian.Uint64(d[:8]), binary.LittleEndian.Uint64(d[8:])
		for j := range kappa {
			if j < 64 {
				choices[q][j] = int(s.s0>>uint(j)) & 1
			} else {
				choices[q][j] = int(s.s1>>uint(j-64)) & 1
			}
		}
		p.recv[q], p.send[q] = r, s
		senders[q] = make([]simot.Sender, kappa)
		msg := header(tagBaseA, 0, kappa*elemLen)
		for j := range kappa {
			if r.k0[j], err = sharing.NewSeed(rng); err != nil {
				return nil, err
			}
			if r.k1[j], err = sharing.NewSeed(rng); err != nil {
				return nil, err
			}
			a := senders[q][j].InitSender(baseGroup, r.k0[j][:], r.k1[j][:], j)
			b, err := a.MarshalBinaryCompress()
			if err != nil {
				return nil, fmt.Errorf("ot: encoding base OT element: %w", err)
			}
			msg = append(msg, b...)
		}
		if err := tr.Send(ctx, q, msg); err != nil {
			return nil, fmt.Errorf("ot: party %d: base OT A to party %d: %w", self, q, err)
		}
	}
	// Flight 2: as base-OT receiver (extension sender to q, choosing with the
	// bits of Delta), answer every A with B.
	receivers := make([][]simot.Receiver, n)
	for q := range n {
		if q == self {
			continue
		}
		body, err := p.recvMsg(ctx, q, tagBaseA, 0, kappa*elemLen, "base OT A")
		if err != nil {
			return nil, err
		}
		receivers[q] = make([]simot.Receiver, kappa)
		msg := header(tagBaseB, 0, kappa*elemLen)
		for j := range kappa {
			a := baseGroup.NewElement()
			if err := a.UnmarshalBinary(body[j*elemLen : (j+1)*elemLen]); err != nil {
				return nil, fmt.Errorf("ot: party %d: base OT A %d from party %d: %w: %w", self, j, q, ErrMalformed, err)
			}
			if a.IsIdentity() {
				return nil, fmt.Errorf("ot: party %d: base OT A %d from party %d is the identity: %w", self, j, q, ErrMalformed)
			}
			b := receivers[q][j].Round1Receiver(baseGroup, choices[q][j], j, a)
			bb, err := b.MarshalBinaryCompress()
			if err != nil {
				return nil, fmt.Errorf("ot: encoding base OT element: %w", err)
			}
			msg = append(msg, bb...)
		}
		if err := tr.Send(ctx, q, msg); err != nil {
			return nil, fmt.Errorf("ot: party %d: base OT B to party %d: %w", self, q, err)
		}
	}
	// Flight 3: as base-OT sender, encrypt both seeds under the keys from B.
	ctLen := 12 + sharing.SeedSize + 16 // AES-GCM nonce, seed, tag
	for q := range n {
		if q == self {
			continue
		}
		body, err := p.recvMsg(ctx, q, tagBaseB, 0, kappa*elemLen, "base OT B")
		if err != nil {
			return nil, err
		}
		msg := header(tagBaseE, 0, kappa*2*ctLen)
		for j := range kappa {
			b := baseGroup.NewElement()
			if err := b.UnmarshalBinary(body[j*elemLen : (j+1)*elemLen]); err != nil {
				return nil, fmt.Errorf("ot: party %d: base OT B %d from party %d: %w: %w", self, j, q, ErrMalformed, err)
			}
			e0, e1 := senders[q][j].Round2Sender(b)
			if len(e0) != ctLen || len(e1) != ctLen {
				return nil, fmt.Errorf("ot: base OT ciphertext of %d bytes, want %d", len(e0), ctLen)
			}
			msg = append(msg, e0...)
			msg = append(msg, e1...)
		}
		if err := tr.Send(ctx, q, msg); err != nil {
			return nil, fmt.Errorf("ot: party %d: base OT ciphertexts to party %d: %w", self, q, err)
		}
	}
	// Decrypt the chosen seeds.
	for q := range n {
		if q == self {
			continue
		}
		body, err := p.recvMsg(ctx, q, tagBaseE, 0, kappa*2*ctLen, "base OT ciphertexts")
		if err != nil {
			return nil, err
		}
		for j := range kappa {
			off := j * 2 * ctLen
			rc := &receivers[q][j]
			if err := rc.Round3Receiver(body[off:off+ctLen], body[off+ctLen:off+2*ctLen], choices[q][j]); err != nil {
				return nil, fmt.Errorf("ot: party %d: base OT %d from party %d does not decrypt: %w: %w", self, j, q, ErrMalformed, err)
			}
			mc := rc.Returnmc()
			if len(mc) != sharing.SeedSize {
				return nil, fmt.Errorf("ot: party %d: base OT %d from party %d has a %d-byte message: %w", self, j, q, len(mc), ErrMalformed)
			}
			copy(p.send[q].seeds[j][:], mc)
		}
	}
	return p, nil
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

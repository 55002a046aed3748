package ot

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cloudflare/circl/ot/simot"

	"github.com/tessera-mpc/tessera/sharing"
)

// The base OTs with one peer, as pure steps on message bodies (no
// transport): Setup runs them with every peer and only moves the bodies.
// Both directions run at once: this party is the base-OT sender for its
// extension-receiver role (it picks both seeds k0, k1 of every column) and
// the base-OT receiver for its extension-sender role (it chooses with the
// bits of its correlation Delta).
//
//	flight 1  senderA        kappa points A = [a]G
//	flight 2  receiverB      kappa points B, from the peer's A and our Delta bits
//	flight 3  senderE        kappa pairs of AES-GCM ciphertexts of (k0, k1)
//	done      receiverSeeds  the seeds k_{Delta_j}, from the peer's ciphertexts

// Body sizes of the flights.
var (
	baseElemLen = int(baseGroup.Params().CompressedElementLength)
	baseALen    = kappa * baseElemLen // flights 1 and 2
	baseCtLen   = 12 + sharing.SeedSize + 16
	baseELen    = kappa * 2 * baseCtLen // flight 3: nonce, seed, tag, twice
)

// baseOTs is the base-OT state with one peer while Setup runs.
type baseOTs struct {
	self, peer int // for error messages
	recv       *extReceiver
	send       *extSender
	choices    [kappa]int // the bits of Delta
	senders    [kappa]simot.Sender
	receivers  [kappa]simot.Receiver
}

// newBaseOTs draws Delta (16 bytes) and then the roots of the GGM trees
// whose level sums are the seeds of every column from rng.
func newBaseOTs(self, peer int, rng io.Reader) (*baseOTs, error) {
	b := &baseOTs{self: self, peer: peer, recv: &extReceiver{}, send: &extSender{}}
	var d [16]byte
	if _, err := io.ReadFull(rng, d[:]); err != nil {
		return nil, fmt.Errorf("ot: drawing Delta: %w", err)
	}
	b.send.s0, b.send.s1 = binary.LittleEndian.Uint64(d[:8]), binary.LittleEndian.Uint64(d[8:])
	for j := range kappa {
		if j < 64 {
			b.choices[j] = int(b.send.s0>>uint(j)) & 1
		} else {
			b.choices[j] = int(b.send.s1>>uint(j-64)) & 1
		}
	}
	// The base-OT messages of every column are the level sums of the
	// receiver role's GGM trees (softspoken.go).
	if err := b.recv.plant(rng); err != nil {
		return nil, err
	}
	return b, nil
}

// senderA is flight 1: the base-OT sender's point A of every column.
func (b *baseOTs) senderA() ([]byte, error) {
	out := make([]byte, 0, baseALen)
	for j := range kappa {
		a := b.senders[j].InitSender(baseGroup, b.recv.k0[j][:], b.recv.k1[j][:], j)
		enc, err := a.MarshalBinaryCompress()
		if err != nil {
			return nil, fmt.Errorf("ot: encoding base OT element: %w", err)
		}
		out = append(out, enc...)
	}
	return out, nil
}

// receiverB is flight 2: from the peer's points A, the base-OT receiver's
// point B of every column, choosing with the bits of Delta.
func (b *baseOTs) receiverB(body []byte) ([]byte, error) {
	if len(body) != baseALen {
		return nil, fmt.Errorf("ot: party %d: base OT A from party %d has %d bytes, want %d: %w", b.self, b.peer, len(body), baseALen, ErrMalformed)
	}
	out := make([]byte, 0, baseALen)
	for j := range kappa {
		a := baseGroup.NewElement()
		if err := a.UnmarshalBinary(body[j*baseElemLen : (j+1)*baseElemLen]); err != nil {
			return nil, fmt.Errorf("ot: party %d: base OT A %d from party %d: %w: %w", b.self, j, b.peer, ErrMalformed, err)
		}
		if a.IsIdentity() {
			return nil, fmt.Errorf("ot: party %d: base OT A %d from party %d is the identity: %w", b.self, j, b.peer, ErrMalformed)
		}
		pt := b.receivers[j].Round1Receiver(baseGroup, b.choices[j], j, a)
		enc, err := pt.MarshalBinaryCompress()
		if err != nil {
			return nil, fmt.Errorf("ot: encoding base OT element: %w", err)
		}
		out = append(out, enc...)
	}
	return out, nil
}

// senderE is flight 3: from the peer's points B, both seeds of every column
// encrypted under the two keys. circl's Round2Sender may run once per
// sender: a second call panics, so it is never retried.
func (b *baseOTs) senderE(body []byte) ([]byte, error) {
	if len(body) != baseALen {
		return nil, fmt.Errorf("ot: party %d: base OT B from party %d has %d bytes, want %d: %w", b.self, b.peer, len(body), baseALen, ErrMalformed)
	}
	out := make([]byte, 0, baseELen)
	for j := range kappa {
		pt := baseGroup.NewElement()
		if err := pt.UnmarshalBinary(body[j*baseElemLen : (j+1)*baseElemLen]); err != nil {
			return nil, fmt.Errorf("ot: party %d: base OT B %d from party %d: %w: %w", b.self, j, b.peer, ErrMalformed, err)
		}
		e0, e1 := b.senders[j].Round2Sender(pt)
		if len(e0) != baseCtLen || len(e1) != baseCtLen {
			return nil, fmt.Errorf("ot: base OT ciphertext of %d bytes, want %d", len(e0), baseCtLen)
		}
		out = append(append(out, e0...), e1...)
	}
	return out, nil
}

// receiverSeeds decrypts the chosen seed of every column from the peer's
// ciphertexts: the extension sender's seeds k_{Delta_j}.
func (b *baseOTs) receiverSeeds(body []byte) error {
	if len(body) != baseELen {
		return fmt.Errorf("ot: party %d: base OT ciphertexts from party %d have %d bytes, want %d: %w", b.self, b.peer, len(body), baseELen, ErrMalformed)
	}
	for j := range kappa {
		off := j * 2 * baseCtLen
		rc := &b.receivers[j]
		if err := rc.Round3Receiver(body[off:off+baseCtLen], body[off+baseCtLen:off+2*baseCtLen], b.choices[j]); err != nil {
			return fmt.Errorf("ot: party %d: base OT %d from party %d does not decrypt: %w: %w", b.self, j, b.peer, ErrMalformed, err)
		}
		mc := rc.Returnmc()
		if len(mc) != sharing.SeedSize {
			return fmt.Errorf("ot: party %d: base OT %d from party %d has a %d-byte message: %w", b.self, j, b.peer, len(mc), ErrMalformed)
		}
		copy(b.send.seeds[j][:], mc)
	}
	b.send.puncture()
	return nil
}

// Package checkpoint stores one party's state of a secure training so that the
// run can be resumed: its shares of the model and of the optimiser state, the step,
// the position in the preprocessing plan, and the public state all parties compare
// (through its Digest) before they continue from a checkpoint.
//
// A checkpoint file is written atomically (a temporary file in the same directory,
// fsync, rename, fsync of the directory), carries a SHA-256 checksum of everything
// before it, and a directory keeps the last two: a crash mid-write leaves the
// previous ones intact, and a corrupt file is never loaded. The shares are in a
// binary section of their own, never in the JSON metadata, so printing the
// metadata can never print a share.
package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/sharing"
)

// Version is the file format's version.
const Version = 1

// magic opens every checkpoint file.
var magic = []byte("tessera-checkpoint\n")

// Public is the state every party of a run holds alike at a checkpoint. Parties
// resume only from a checkpoint whose Public they all hold (compared by Digest).
type Public struct {
	// Run identifies the run whose shares combine: drawn jointly at its start and
	// kept across resumes, so that shares of different runs are never mixed.
	Run string `json:"run"`
	// Resumes counts the resumes of the run before this checkpoint was written:
	// a checkpoint of an abandoned continuation never matches a newer one.
	Resumes    int               `json:"resumes"`
	Experiment string            `json:"experiment"` // hash of the canonical experiment config
	Layout     experiment.Layout `json:"layout"`
	// Members are the parties' identities (peer IDs of a deployment; empty in a
	// simulation).
	Members []string `json:"members,omitempty"`
	// Step is the number of training steps done.
	Step int `json:"step"`
	// Position is the number of preprocessing requests made: where a resumed run's
	// plan (or dealer stream) starts.
	Position uint64 `json:"position"`
}

// Digest is what the parties compare to agree on a checkpoint.
func (p Public) Digest() [32]byte {
	raw, _ := json.Marshal(p) // a Public always marshals
	return sha256.Sum256(append([]byte("tessera-checkpoint-public/1\n"), raw...))
}

// Checkpoint is one party's saved state.
type Checkpoint struct {
	Public Public `json:"public"`
	// Party is the party whose shares these are.
	Party int `json:"party"`
	// Experiment is the run's canonical experiment config, so that a resume with a
	// changed config can say what changed.
	Experiment json.RawMessage `json:"experiment"`
	// DataHash is a digest of this party's own data (it never leaves the party):
	// a resume on changed data is refused.
	DataHash string      `json:"data_hash"`
	Written  time.Time   `json:"written"`
	State    train.State `json:"state"`
}

// Bounds on what a checkpoint file may declare, checked before anything is
// allocated for it.
const (
	maxMetaBytes = 64 << 20
	maxTensors   = 1 << 16
	maxRank      = 4
)

// Marshal encodes c: magic, version, the JSON metadata, the shares, and the
// SHA-256 of all that.
func (c *Checkpoint) Marshal() ([]byte, error) {
	meta, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var b bytes.Buffer
	b.Write(magic)
	put := func(v any) { binary.Write(&b, binary.LittleEndian, v) } // a bytes.Buffer never fails
	put(uint32(Version))
	put(uint32(len(meta)))
	b.Write(meta)
	tensors := c.State.Tensors()
	put(uint32(len(tensors)))
	for _, t := range tensors {
		put(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			put(uint32(d))
		}
		put(t.Data)
	}
	sum := sha256.Sum256(b.Bytes())
	b.Write(sum[:])
	return b.Bytes(), nil
}

// ErrCorrupt is wrapped by every error about a file that is not a whole,
// intact checkpoint.
var ErrCorrupt = errors.New("not an intact checkpoint")

// Unmarshal decodes a checkpoint after checking its checksum.
func Unmarshal(raw []byte) (*Checkpoint, error) {
	if len(raw) < len(magic)+sha256.Size || !bytes.Equal(raw[:len(magic)], magic) {
		return nil, fmt.Errorf("%w: no checkpoint header", ErrCorrupt)
	}
	body, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or altered)", ErrCorrupt)
	}
	r := &reader{buf: body[len(magic):]}
	if v := r.u32(); v != Version {
		return nil, fmt.Errorf("checkpoint: format version %d, this build reads %d", v, Version)
	}
	n := r.u32()
	if n > maxMetaBytes {
		return nil, fmt.Errorf("%w: metadata of %d bytes", ErrCorrupt, n)
	}
	var c Checkpoint
	meta := r.bytes(int(n))
	if r.err != nil {
		return nil, r.err
	}
	if err := json.Unmarshal(meta, &c); err != nil {
		return nil, fmt.Errorf("%w: metadata: %v", ErrCorrupt, err)
	}
	tensors, err := r.tensors()
	if err != nil {
		return nil, err
	}
	if err := c.State.SetTensors(tensors); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return &c, nil
}

// reader decodes the binary section with bounds checks.
type reader struct {
	buf []byte
	err error
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.buf) {
		r.err = fmt.Errorf("%w: %d bytes declared, %d left", ErrCorrupt, n, len(r.buf))
		return nil
	}
	out := r.buf[:n]
	r.buf = r.buf[n:]
	return out
}

func (r *reader) u32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) tensors() ([]sharing.Tensor, error) {
	count := r.u32()
	if count > maxTensors {
		return nil, fmt.Errorf("%w: %d tensors", ErrCorrupt, count)
	}
	var out []sharing.Tensor
	for i := uint32(0); i < count && r.err == nil; i++ {
		rank := r.u32()
		if rank > maxRank {
			return nil, fmt.Errorf("%w: tensor %d of rank %d", ErrCorrupt, i, rank)
		}
		shape, size := make([]int, rank), uint64(1)
		for d := range shape {
			shape[d] = int(r.u32())
			size *= uint64(shape[d])
			if size > uint64(len(r.buf))/8 {
				return nil, fmt.Errorf("%w: tensor %d larger than the file", ErrCorrupt, i)
			}
		}
		raw := r.bytes(int(8 * size))
		t := sharing.Tensor{Shape: shape, Data: make([]uint64, size)}
		for j := range t.Data {
			if raw != nil {
				t.Data[j] = binary.LittleEndian.Uint64(raw[8*j:])
			}
		}
		out = append(out, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.buf) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(r.buf))
	}
	return out, nil
}

// HexDigest is a digest as the handshake and messages show it.
func HexDigest(d [32]byte) string { return hex.EncodeToString(d[:]) }

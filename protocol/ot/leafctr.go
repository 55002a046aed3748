package ot

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/tessera-mpc/tessera/sharing"
)

// leafCipher expands the GGM leaves of one end of an extension: leaf x's
// stream for batch β is AES-128-CTR under key G_x from the counter β·2^64
// (sharing.NewPRG(G_x, β), bit for bit). The leaves are fixed for the
// session, so their key schedules are expanded once here; a batch then only
// encrypts counters, eight leaves at a time under their own keys (AES-NI,
// ctr8KeysAESNI) or through one cipher.Block per leaf (portable path),
// straight into the leaf buffers ssRows folds. Until this version every
// batch opened a sharing.PRG per leaf (a key schedule, a CTR object and
// their allocations, 512 per extension per batch), the largest per-batch
// fixed cost of small batches.
//
// Block b's leaves are stored in the order ssRows folds them: position y
// holds leaf y ^ perm[b] (the sender's g[x ^ Delta_b] = G_x; the receiver has
// perm 0).
type leafCipher struct {
	keys   *[ssBlocks][ssLeaves][11][16]byte // AES-NI path
	blocks *[ssBlocks][ssLeaves]cipher.Block // portable path
}

func newLeafCipher(leaves *[ssBlocks][ssLeaves]sharing.Seed, perm func(b int) int) leafCipher {
	var lc leafCipher
	if haveAESNI {
		lc.keys = new([ssBlocks][ssLeaves][11][16]byte)
	} else {
		lc.blocks = new([ssBlocks][ssLeaves]cipher.Block)
	}
	for b := range ssBlocks {
		for y := range ssLeaves {
			key := leaves[b][y^perm(b)]
			if lc.keys != nil {
				expandKey128(key, &lc.keys[b][y])
				continue
			}
			blk, err := aes.NewCipher(key[:])
			if err != nil {
				panic(err) // unreachable: the key size is fixed
			}
			lc.blocks[b][y] = blk
		}
	}
	return lc
}

// counterBlocks is the counter blocks of one chunk, as the words of their
// bytes (little-endian): block j is the stream index (big-endian, high half)
// and the block number (big-endian, low half), as cipher.NewCTR counts them.
type counterBlocks [ssChunk / 2][2]uint64

// set fills the first nb counters of the given batch from block number first.
func (c *counterBlocks) set(batch, first uint64, nb int) {
	hi := bits.ReverseBytes64(batch)
	for j := range nb {
		c[j] = [2]uint64{hi, bits.ReverseBytes64(first + uint64(j))}
	}
}

// fill writes the nb stream blocks of ctrs into g[y][:2*nb] for every leaf
// position y of block b (16 bytes per block, read as two little-endian
// words, as sharing.PRG.Fill reads them).
func (lc *leafCipher) fill(b int, ctrs *counterBlocks, nb int, g *[ssLeaves][ssChunk]uint64) {
	if nb == 0 {
		return
	}
	if lc.keys != nil {
		const stride = 8 * ssChunk // bytes from one leaf's buffer to the next
		for half := 0; half < ssLeaves; half += 8 {
			ctr8KeysAESNI((*[8][11][16]byte)(lc.keys[b][half:]), &ctrs[0][0], nb,
				(*byte)(unsafe.Pointer(&g[half][0])), stride)
		}
		return
	}
	var in, out [16]byte
	for y := range ssLeaves {
		blk := lc.blocks[b][y]
		for j := range nb {
			binary.LittleEndian.PutUint64(in[:8], ctrs[j][0])
			binary.LittleEndian.PutUint64(in[8:], ctrs[j][1])
			blk.Encrypt(out[:], in[:])
			g[y][2*j], g[y][2*j+1] = binary.LittleEndian.Uint64(out[:8]), binary.LittleEndian.Uint64(out[8:])
		}
	}
}

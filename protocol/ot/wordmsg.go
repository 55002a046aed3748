package ot

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"
	"unsafe"

	"github.com/tessera-mpc/tessera/sharing"
)

// Messages of words are built and read in place: a u matrix or a batch's
// corrections used to be made in a []uint64, copied into a fresh []byte to
// send and, at the receiver, copied back into a fresh []uint64, three buffers
// and two copies for one message; with a daBit's 28 OTs at N = 8 those were
// most of the OT source's allocations, and their zeroing and collection a
// tenth of its CPU.

// hostLittleEndian: a []uint64's bytes are then its little-endian encoding,
// the wire format of the words.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// wordMessage is a message laid out as words: a word of room for the
// headers of the channels it goes through (see frameSender), the header
// (tag, batch) as two words, then a body the caller fills in place.
type wordMessage struct{ words []uint64 }

func newWordMessage(tag, batch uint64, body int) wordMessage {
	w := make([]uint64, 1+headerBytes/8+body)
	w[1], w[2] = tag, batch
	return wordMessage{words: w}
}

// body is the message's words after the header.
func (m wordMessage) body() []uint64 { return m.words[1+headerBytes/8:] }

// frame is the message on the wire, room before it included: the words' own
// memory on a little-endian host (the caller must not touch the words once
// sent, as the Transport requires of every message), a little-endian copy
// elsewhere.
func (m wordMessage) frame() []byte {
	if hostLittleEndian {
		return unsafe.Slice((*byte)(unsafe.Pointer(&m.words[0])), 8*len(m.words))
	}
	out := make([]byte, 8*len(m.words))
	sharing.PutWords(out, m.words)
	return out
}

// bytes is the message on the wire, without the room.
func (m wordMessage) bytes() []byte { return m.frame()[8:] }

// frameSender is a transport that sends a message with room before it for
// its own headers without copying it (network.Channel: a mux's channel
// number, one per level of muxes). Copying every message behind those bytes
// cost ~2% of a node's CPU, and the bodies arrived misaligned; a frame's
// message starts at a word of the sender's buffer, so at the receiver of an
// in-memory network too.
type frameSender interface {
	FrameRoom() int
	SendFrame(ctx context.Context, to int, frame []byte) error
}

// sendMessage sends m to peer q, in place when the transport takes frames
// with at most a word of room.
func (p *Party) sendMessage(ctx context.Context, q int, m wordMessage, step string) error {
	var err error
	if fs, ok := p.tr.(frameSender); ok && fs.FrameRoom() <= 8 {
		err = fs.SendFrame(ctx, q, m.frame()[8-fs.FrameRoom():])
	} else {
		err = p.tr.Send(ctx, q, m.bytes())
	}
	if err != nil {
		return fmt.Errorf("ot: party %d: %s to party %d: %w", p.self, step, q, err)
	}
	return nil
}

// byteUnpacker reads what a packer wrote, from the little-endian bytes of
// its words (a received body, bounded by its length check), without decoding
// them into a buffer first.
type byteUnpacker struct {
	in  []byte
	pos int // bits read
}

// get reads the next len(dst) values, of widths[k] bits for dst[k] (each
// from 1 to 64). It loads the two words a value may span and joins them
// without a branch: the widths vary from value to value, so a branch on
// whether a value crosses a word was mispredicted often. The loads read the
// bytes in place (unaligned; a body follows a channel's header byte), after
// the check that both words are in the body; values in the last word, and
// all on a big-endian host, take getLast.
func (un *byteUnpacker) get(dst []uint64, widths []uint8) {
	if !hostLittleEndian || len(un.in) < 16 {
		un.getLast(dst, widths)
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(un.in))
	last := len(un.in) - 16 // the last byte offset with two words after it
	pos := un.pos
	widths = widths[:len(dst)]
	for k := range dst {
		b := pos >> 6 << 3
		if b > last {
			un.pos = pos
			un.getLast(dst[k:], widths[k:])
			return
		}
		off, bits := uint(pos&63), uint(widths[k])
		pos += int(bits)
		lo, hi := *(*uint64)(unsafe.Add(base, b)), *(*uint64)(unsafe.Add(base, b+8))
		dst[k] = (lo>>off | hi<<1<<((63-off)&63)) & (^uint64(0) >> ((64 - bits) & 63))
	}
	un.pos = pos
}

// addChosen reads the next len(prod) values, of widths[k] bits for value k,
// and adds value k to prod[k] where bit k of choices is set (a daBit
// receiver's products); with BMI2, in unpackAddBMI2, which also skips the
// buffer get fills.
func (un *byteUnpacker) addChosen(prod, choices []uint64, widths []uint8) {
	widths = widths[:len(prod)]
	from := 0
	if haveBMI2 && hostLittleEndian && len(un.in) >= 16 && len(prod) > 0 {
		_ = choices[(len(prod)-1)>>6]
		from, un.pos = unpackAddBMI2(unsafe.SliceData(un.in), len(un.in)-16, un.pos, &widths[0], &choices[0], &prod[0], len(prod))
	}
	un.addChosenGo(prod, choices, widths, from)
}

// addChosenGo is addChosen for the values from on, through get.
func (un *byteUnpacker) addChosenGo(prod, choices []uint64, widths []uint8, from int) {
	var vals [512]uint64
	for from < len(prod) {
		c := vals[:min(len(vals), len(prod)-from)]
		un.get(c, widths[from:])
		for k, v := range c {
			prod[from+k] += -(choices[(from+k)>>6] >> uint((from+k)&63) & 1) & v
		}
		from += len(c)
	}
}

// getLast is get one value at a time, through encoding/binary, for values
// that start in the last word of in (they end in it: a message's length,
// checked on receipt, holds all its values) or on a big-endian host.
func (un *byteUnpacker) getLast(dst []uint64, widths []uint8) {
	for k := range dst {
		bits := uint(widths[k])
		word, off := un.pos>>6, uint(un.pos&63)
		un.pos += int(bits)
		v := binary.LittleEndian.Uint64(un.in[8*word:]) >> off
		if off+bits > 64 {
			v |= binary.LittleEndian.Uint64(un.in[8*word+8:]) << (64 - off)
		}
		dst[k] = v & (^uint64(0) >> ((64 - bits) & 63))
	}
}

// wordsOf returns body's little-endian words, read only: body's own memory
// when the host is little-endian and body is word-aligned (a frame sent in
// place over an in-memory network; see frameSender), else a copy in a
// getWords buffer, pooled then, for putWords. Copying every u matrix cost
// ~0.7% of a node's CPU at N = 8.
func wordsOf(body []byte) (words []uint64, pooled bool) {
	n := len(body) / 8
	if hostLittleEndian && n > 0 && len(body)%8 == 0 && uintptr(unsafe.Pointer(unsafe.SliceData(body)))%8 == 0 {
		return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(body))), n), false
	}
	words = getWords(n)
	sharing.GetWords(words, body)
	return words, true
}

// Word buffers that never leave the party (a receiver's x_c, a peer's u
// decoded from its message, a batch's daBit shares) are recycled between
// batches, in power-of-two size classes: fresh ones cost their zeroing and
// their collection, and every user overwrites them whole.
var wordPools [64]sync.Pool // class k: *[]uint64 of capacity >= 2^k

// getWords returns n words of unspecified content.
func getWords(n int) []uint64 {
	k := bits.Len(uint(max(n, 1) - 1))
	if b, ok := wordPools[k].Get().(*[]uint64); ok {
		return (*b)[:n]
	}
	return make([]uint64, n, 1<<k)
}

// putWords gives b back for a later getWords; the caller must not use it
// afterwards.
func putWords(b []uint64) {
	if cap(b) == 0 {
		return
	}
	b = b[:0]
	wordPools[bits.Len(uint(cap(b)))-1].Put(&b)
}

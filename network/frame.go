package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Wire format of the libp2p transport.
//
// Every message on a peer stream is one frame:
//
//	length  uint32, big endian: the number of body bytes that follow
//	body    length bytes: one kind byte, then the kind's content
//
// A fixed 4-byte length (rather than a uvarint) keeps the decoder trivial to bound:
// the reader learns the full claimed size from one read and rejects it before it
// allocates anything. The largest body is therefore 4 GiB - 1, far above any
// sensible MaxFrameBytes.
const (
	frameHeaderLen = 4

	// frameData carries one application message (possibly empty), or the last
	// part of one that frameMore frames began.
	frameData byte = 0x01
	// frameAbort carries the UTF-8 reason of a party that gave up on the session.
	frameAbort byte = 0x02
	// frameHeartbeat is empty: the sender is alive (liveness.go).
	frameHeartbeat byte = 0x03
	// frameMore carries a non-empty, non-final part of an application message
	// larger than one frame; the message ends with a frameData frame. The
	// receiver bounds the reassembled message by MaxMessageBytes.
	frameMore byte = 0x04
	// frameHello and frameVerdict are the two handshake messages (handshake.go).
	frameHello   byte = 0x10
	frameVerdict byte = 0x11
)

// frameInitialAlloc is the most readFrame allocates before the body's bytes
// actually arrive: a larger frame grows its buffer as data comes in, so a header
// that merely claims a large size costs at most this much memory.
const frameInitialAlloc = 4 << 20

// maxFrameBody is the largest body the 4-byte length can describe.
const maxFrameBody = math.MaxUint32

// ErrFrameTooLarge is returned (wrapped) when a frame's declared length exceeds
// the receiver's bound (the frame is rejected before its body is allocated), and
// when a message exceeds MaxMessageBytes, at Send or on reassembly.
var ErrFrameTooLarge = errors.New("frame exceeds size limit")

// readFrame reads one frame from r and returns its body. It returns io.EOF only
// when r ends cleanly before a frame starts, io.ErrUnexpectedEOF when r ends inside
// a frame, and an error wrapping ErrFrameTooLarge, without reading or allocating
// the body, when the declared length exceeds limit.
func readFrame(r io.Reader, limit int) ([]byte, error) {
	var hdr [frameHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := uint64(binary.BigEndian.Uint32(hdr[:]))
	if limit < 0 || n > uint64(limit) {
		return nil, fmt.Errorf("%w: %d bytes declared, limit %d", ErrFrameTooLarge, n, limit)
	}
	size := int(n)
	buf := make([]byte, min(size, frameInitialAlloc))
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, unexpectedEOF(err)
	}
	for len(buf) < size {
		// Grow geometrically, so the memory in use is at most about twice what the
		// peer has actually sent.
		have := len(buf)
		next := make([]byte, min(size, 2*have))
		copy(next, buf)
		buf = next
		if _, err := io.ReadFull(r, buf[have:]); err != nil {
			return nil, unexpectedEOF(err)
		}
	}
	return buf, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// smallFrame is the payload size up to which writeFrame copies header and
// payload into one buffer and issues a single Write (one yamux frame).
const smallFrame = 16 << 10

// writeFrame writes one frame whose body is kind followed by payload.
func writeFrame(w io.Writer, kind byte, payload []byte) error {
	if uint64(len(payload))+1 > maxFrameBody {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(payload))
	}
	var hdr [frameHeaderLen + 1]byte
	binary.BigEndian.PutUint32(hdr[:frameHeaderLen], uint32(len(payload)+1))
	hdr[frameHeaderLen] = kind
	if len(payload) <= smallFrame {
		buf := make([]byte, 0, len(hdr)+len(payload))
		buf = append(append(buf, hdr[:]...), payload...)
		_, err := w.Write(buf)
		return err
	}
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

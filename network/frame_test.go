package network

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
)

func frameBytes(kind byte, payload []byte) []byte {
	var buf bytes.Buffer
	if err := writeFrame(&buf, kind, payload); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

func TestFrameRoundTrip(t *testing.T) {
	sizes := []int{0, 1, smallFrame - 1, smallFrame, smallFrame + 1, frameInitialAlloc - 1, frameInitialAlloc, 3*frameInitialAlloc + 7}
	var stream bytes.Buffer
	for i, n := range sizes {
		payload := make([]byte, n)
		for k := range payload {
			payload[k] = byte(k*7 + i)
		}
		if err := writeFrame(&stream, frameData, payload); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range sizes {
		body, err := readFrame(&stream, 4*frameInitialAlloc)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if len(body) != n+1 || body[0] != frameData {
			t.Fatalf("frame %d: got %d bytes kind %#x, want %d", i, len(body), body[0], n+1)
		}
		for k, b := range body[1:] {
			if b != byte(k*7+i) {
				t.Fatalf("frame %d: byte %d differs", i, k)
			}
		}
	}
	if _, err := readFrame(&stream, 100); err != io.EOF {
		t.Fatalf("after the last frame: got %v, want io.EOF", err)
	}
}

func TestReadFrameTruncated(t *testing.T) {
	full := frameBytes(frameData, []byte("hello"))
	for cut := 1; cut < len(full); cut++ {
		_, err := readFrame(bytes.NewReader(full[:cut]), 100)
		if err != io.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: got %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
}

// allocatedBy reports the bytes allocated (by any goroutine) while f runs.
func allocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestReadFrameOversizeRejectedWithoutAllocation(t *testing.T) {
	var hdr [frameHeaderLen]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<30) // 1 GiB declared
	// The body "follows" as an endless stream: a reader that trusted the header
	// would allocate 1 GiB and read forever.
	r := io.MultiReader(bytes.NewReader(hdr[:]), zeroReader{})
	var err error
	alloc := allocatedBy(func() { _, err = readFrame(r, DefaultMaxFrameBytes) })
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	if alloc > 16<<10 {
		t.Fatalf("rejecting an oversize frame allocated %d bytes", alloc)
	}
}

func TestReadFrameAllocatesWhatArrives(t *testing.T) {
	// A frame within the limit whose body never arrives costs at most
	// frameInitialAlloc, not the declared size.
	var hdr [frameHeaderLen]byte
	binary.BigEndian.PutUint32(hdr[:], 200<<20)
	data := append(hdr[:], make([]byte, 10)...)
	var err error
	alloc := allocatedBy(func() { _, err = readFrame(bytes.NewReader(data), DefaultMaxFrameBytes) })
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
	}
	if alloc > frameInitialAlloc+16<<10 {
		t.Fatalf("a 200 MiB header with 10 bytes of body allocated %d bytes", alloc)
	}
}

func TestReadFrameNegativeLimit(t *testing.T) {
	if _, err := readFrame(bytes.NewReader(frameBytes(frameData, nil)), -1); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// FuzzReadFrame checks that readFrame never panics, never returns more than the
// limit, returns exactly the declared body, and allocates no more than the limit
// (and no more than frameInitialAlloc beyond what the input holds).
func FuzzReadFrame(f *testing.F) {
	f.Add(frameBytes(frameData, []byte("share")), uint32(64))
	f.Add(frameBytes(frameAbort, []byte("bad input")), uint32(8))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}, uint32(1<<20))
	f.Add([]byte{0, 0, 0}, uint32(10))
	f.Fuzz(func(t *testing.T, data []byte, limit uint32) {
		limit %= 16 << 20
		var (
			body []byte
			err  error
		)
		alloc := allocatedBy(func() { body, err = readFrame(bytes.NewReader(data), int(limit)) })
		const slack = 64 << 10
		if alloc > 2*uint64(limit)+slack {
			t.Fatalf("allocated %d bytes with limit %d", alloc, limit)
		}
		if alloc > frameInitialAlloc+2*uint64(len(data))+slack {
			t.Fatalf("allocated %d bytes for %d input bytes", alloc, len(data))
		}
		if err != nil {
			return
		}
		if len(data) < frameHeaderLen {
			t.Fatalf("decoded a frame from %d bytes", len(data))
		}
		n := binary.BigEndian.Uint32(data)
		if uint64(len(body)) != uint64(n) || uint64(n) > uint64(limit) {
			t.Fatalf("body of %d bytes, declared %d, limit %d", len(body), n, limit)
		}
		if !bytes.Equal(body, data[frameHeaderLen:frameHeaderLen+int(n)]) {
			t.Fatal("body differs from input")
		}
	})
}

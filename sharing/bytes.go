package sharing

import (
	"encoding/binary"
	"unsafe"
)

// hostLittleEndian reports whether uint64s are stored little-endian in memory, as
// on amd64 and arm64; there the wire format (little-endian) is the memory layout
// and words can be copied as bytes.
var hostLittleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// PutWords writes words to dst (at least 8*len(words) bytes) little-endian.
func PutWords(dst []byte, words []uint64) {
	if len(words) == 0 {
		return
	}
	if hostLittleEndian {
		copy(dst[:8*len(words)], unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), 8*len(words)))
		return
	}
	for i, w := range words {
		binary.LittleEndian.PutUint64(dst[8*i:], w)
	}
}

// GetWords reads len(dst) little-endian words from src (at least 8*len(dst) bytes).
func GetWords(dst []uint64, src []byte) {
	if len(dst) == 0 {
		return
	}
	if hostLittleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 8*len(dst)), src[:8*len(dst)])
		return
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint64(src[8*i:])
	}
}

// AddWordsInto adds the little-endian words in src to dst element-wise (mod 2^64).
func AddWordsInto(dst []uint64, src []byte) {
	if hostLittleEndian && len(dst) > 0 && uintptr(unsafe.Pointer(&src[0]))%8 == 0 {
		for i, w := range unsafe.Slice((*uint64)(unsafe.Pointer(&src[0])), len(dst)) {
			dst[i] += w
		}
		return
	}
	for i := range dst {
		dst[i] += binary.LittleEndian.Uint64(src[8*i:])
	}
}

// XorWordsInto XORs the little-endian words in src into dst.
func XorWordsInto(dst []uint64, src []byte) {
	if hostLittleEndian && len(dst) > 0 && uintptr(unsafe.Pointer(&src[0]))%8 == 0 {
		for i, w := range unsafe.Slice((*uint64)(unsafe.Pointer(&src[0])), len(dst)) {
			dst[i] ^= w
		}
		return
	}
	for i := range dst {
		dst[i] ^= binary.LittleEndian.Uint64(src[8*i:])
	}
}

//go:build !amd64 || !gc || purego

package ot

const haveAESNI = false

func encryptBlocksAESNI(keys *[11][16]byte, buf *byte, n int) {
	panic("unreachable: no AES-NI path on this platform")
}

//go:build ignore

// gen_transpose writes transpose_amd64.s: transpose64 (Hacker's Delight 7-3) on
// four 64x64 bit matrices at once, one per 64-bit lane of a YMM register, fully
// unrolled; and transposeChunkAVX2, which does so for the two halves of a
// chunk's columns and writes the 128-bit rows. Run by `go generate ./protocol/ot`.
package main

import (
	"github.com/tessera-mpc/tessera/internal/asmgen"
)

func main() {
	asmgen.Write("gen_transpose.go", "transpose_amd64.s", func(p asmgen.Printf) {
		p("// func transpose64x4AVX2(a *[64][4]uint64)")
		p("//")
		p("// transpose64 (Hacker's Delight 7-3) on four 64x64 bit matrices at once,")
		p("// one per 64-bit lane: a[r][l] is row r of matrix l. Fully unrolled: each")
		p("// swap of rows k and k+j is two loads, six vector operations, two stores.")
		p("TEXT ·transpose64x4AVX2(SB), NOSPLIT, $0-8")
		p("\tMOVQ a+0(FP), DI")
		masks := []uint64{0x00000000ffffffff, 0x0000ffff0000ffff, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0x3333333333333333, 0x5555555555555555}
		for i, j := 0, 32; j != 0; i, j = i+1, j>>1 {
			p("\tMOVQ $%#x, AX", masks[i])
			p("\tMOVQ AX, X15")
			p("\tVPBROADCASTQ X15, Y15")
			for k := 0; k < 64; k = (k + j + 1) &^ j {
				lo, hi := 32*k, 32*(k+j)
				p("\tVMOVDQU %d(DI), Y0", lo)
				p("\tVMOVDQU %d(DI), Y1", hi)
				deltaSwap(p, j)
				p("\tVMOVDQU Y0, %d(DI)", lo)
				p("\tVMOVDQU Y1, %d(DI)", hi)
			}
		}
		p("\tVZEROUPPER")
		p("\tRET")
		genChunk(p)
	})
}

// genChunk writes transposeChunkAVX2: per group of four words of the 128
// columns, both 64-row halves transposed, then the halves interleaved into
// 128-bit rows. A half takes two passes over its rows, each running three of
// transpose64's six stages on eight rows held in registers (the first pass
// reads the columns, the second works in tmp): one stage per pass through
// memory, as until this version, made the kernel bound by its stores.
func genChunk(p asmgen.Printf) {
	const colBytes = 512 // one column of a chunk: 8*ssChunk
	masks := []uint64{0x00000000ffffffff, 0x0000ffff0000ffff, 0x00ff00ff00ff00ff, 0x0f0f0f0f0f0f0f0f, 0x3333333333333333, 0x5555555555555555}
	p("")
	p("// func transposeChunkAVX2(cols *uint64, groups int, tmp *[2][64][4]uint64, out *uint64)")
	p("//")
	p("// For g < groups: the words 4g..4g+3 of the 128 columns at cols (%d", colBytes)
	p("// bytes apart) become the 256 rows of 128 bits at out + 4096g (row r is")
	p("// words 2r, 2r+1: bit j of word 2r+h is bit r mod 64 of word 4g + r/64 of")
	p("// column 64h + j). Each half is transpose64 on four matrices at once, as")
	p("// transpose64x4AVX2, with the first pass reading the columns.")
	p("TEXT ·transposeChunkAVX2(SB), NOSPLIT, $0-32")
	p("\tMOVQ cols+0(FP), SI")
	p("\tMOVQ groups+8(FP), CX")
	p("\tMOVQ tmp+16(FP), BX")
	p("\tMOVQ out+24(FP), DI")
	p("")
	p("group:")
	p("\tTESTQ CX, CX")
	p("\tJZ    done")
	p("\tMOVQ SI, R8")
	p("\tMOVQ BX, R9")
	p("\tMOVQ $2, R10")
	p("")
	p("half:")
	// Pass A, stages 32, 16, 8: they pair rows with the same index mod 8, so
	// the eight rows k, k+8, ..., k+56 go through all three in Y0-Y7. Their
	// masks select whole dwords, words and bytes, so each swap is two shifts
	// and two blends (blendSwap) instead of six operations.
	p("\tMOVQ $0xff00ff00ff00ff00, AX")
	p("\tMOVQ AX, X15")
	p("\tVPBROADCASTQ X15, Y15")
	for k := range 8 {
		for m := range 8 {
			p("\tVMOVDQU %d(R8), Y%d", colBytes*(k+8*m), m)
		}
		for _, j := range []int{32, 16, 8} {
			d := j / 8
			for m := range 8 {
				if m&d == 0 {
					blendSwap(p, j, m, m+d)
				}
			}
		}
		for m := range 8 {
			p("\tVMOVDQU Y%d, %d(R9)", m, 32*(k+8*m))
		}
	}
	// Pass B, stages 4, 2, 1: within each block of eight rows.
	setMasks(p, masks[3:])
	for b := range 8 {
		for i := range 8 {
			p("\tVMOVDQU %d(R9), Y%d", 32*(8*b+i), i)
		}
		swapsInRegisters(p, []int{4, 2, 1}, 1)
		for i := range 8 {
			p("\tVMOVDQU Y%d, %d(R9)", i, 32*(8*b+i))
		}
	}
	p("\tADDQ $%d, R8", 64*colBytes)
	p("\tADDQ $2048, R9")
	p("\tDECQ R10")
	p("\tJNZ  half")
	// Row 64l+i of the group is (tmp[0][i][l], tmp[1][i][l]).
	for i := range 64 {
		p("\tVMOVDQU %d(BX), Y0", 32*i)
		p("\tVMOVDQU %d(BX), Y1", 2048+32*i)
		p("\tVPUNPCKLQDQ Y1, Y0, Y2 // rows i, 128+i")
		p("\tVPUNPCKHQDQ Y1, Y0, Y3 // rows 64+i, 192+i")
		p("\tVMOVDQU X2, %d(DI)", 16*i)
		p("\tVMOVDQU X3, %d(DI)", 16*(64+i))
		p("\tVEXTRACTI128 $1, Y2, %d(DI)", 16*(128+i))
		p("\tVEXTRACTI128 $1, Y3, %d(DI)", 16*(192+i))
	}
	p("\tADDQ $32, SI")
	p("\tADDQ $4096, DI")
	p("\tDECQ CX")
	p("\tJMP  group")
	p("")
	p("done:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// blendSwap is deltaSwap on Y<lo> and Y<hi> for j = 32, 16 or 8: lo keeps
// the low j bits of each 2j and takes hi's low j bits above them (hi << j),
// hi keeps its high j bits and takes lo's high j bits below them (lo >> j),
// by dword, word or byte blends (the byte blend's selector, odd bytes, in
// Y15). Y8 and Y9 are scratch.
func blendSwap(p asmgen.Printf, j, lo, hi int) {
	p("\tVPSLLQ $%d, Y%d, Y8", j, hi)
	p("\tVPSRLQ $%d, Y%d, Y9", j, lo)
	switch j {
	case 32:
		p("\tVPBLENDD $0xaa, Y8, Y%d, Y%d", lo, lo)
		p("\tVPBLENDD $0xaa, Y%d, Y9, Y%d", hi, hi)
	case 16:
		p("\tVPBLENDW $0xaa, Y8, Y%d, Y%d", lo, lo)
		p("\tVPBLENDW $0xaa, Y%d, Y9, Y%d", hi, hi)
	case 8:
		p("\tVPBLENDVB Y15, Y8, Y%d, Y%d", lo, lo)
		p("\tVPBLENDVB Y15, Y%d, Y9, Y%d", hi, hi)
	}
}

// setMasks broadcasts the masks of three stages into Y13, Y14, Y15.
func setMasks(p asmgen.Printf, masks []uint64) {
	for i, m := range masks {
		p("\tMOVQ $%#x, AX", m)
		p("\tMOVQ AX, X%d", 13+i)
		p("\tVPBROADCASTQ X%d, Y%d", 13+i, 13+i)
	}
}

// swapsInRegisters writes three stages of transpose64 (distances js, masks in
// Y13-Y15) on eight rows in Y0-Y7, register m holding row base + m*step:
// stage j swaps registers m and m + j/step for m with bit j/step clear. Y8 is
// scratch.
func swapsInRegisters(p asmgen.Printf, js []int, step int) {
	for s, j := range js {
		d := j / step
		for m := range 8 {
			if m&d == 0 {
				deltaSwapRegs(p, j, m, m+d, 13+s)
			}
		}
	}
}

// deltaSwapRegs is deltaSwap on Y<lo> and Y<hi> under the mask in Y<mask>,
// with Y8 scratch.
func deltaSwapRegs(p asmgen.Printf, j, lo, hi, mask int) {
	p("\tVPSRLQ $%d, Y%d, Y8", j, lo)
	p("\tVPXOR Y%d, Y8, Y8", hi)
	p("\tVPAND Y%d, Y8, Y8", mask)
	p("\tVPXOR Y8, Y%d, Y%d", hi, hi)
	p("\tVPSLLQ $%d, Y8, Y8", j)
	p("\tVPXOR Y8, Y%d, Y%d", lo, lo)
}

// deltaSwap writes one delta swap of transpose64 on Y0 (low rows) and Y1
// (high rows) at distance j under the mask in Y15: t = ((Y0 >> j) ^ Y1) & mask,
// Y1 ^= t, Y0 ^= t << j. Y2 is scratch.
func deltaSwap(p asmgen.Printf, j int) {
	p("\tVPSRLQ $%d, Y0, Y2", j)
	p("\tVPXOR Y1, Y2, Y2")
	p("\tVPAND Y15, Y2, Y2")
	p("\tVPXOR Y2, Y1, Y1")
	p("\tVPSLLQ $%d, Y2, Y2", j)
	p("\tVPXOR Y2, Y0, Y0")
}

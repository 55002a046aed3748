//go:build ignore

// gen_aesctr writes aesctr_amd64.s: AES-128 in counter mode under the keys of
// the GGM leaves of an extension block, fully unrolled: eight keys at once
// with AES-NI, or sixteen keys and two counters at once with VAES on YMM
// registers (two blocks per instruction), or four counters at once on ZMM
// registers (four); and the hash's sigma, fixed-key AES
// and feed-forward on sixteen rows at once with VAES. Run by `go generate ./protocol/ot`.
package main

import (
	"github.com/tessera-mpc/tessera/internal/asmgen"
)

func main() {
	asmgen.Write("gen_aesctr.go", "aesctr_amd64.s", func(p asmgen.Printf) {
		p("// func ctr8KeysAESNI(keys *[8][11][16]byte, ctrs *uint64, n int, out *byte, stride int)")
		p("//")
		p("// For j < n, encrypts counter block j (the 16 bytes at ctrs+16j) under each")
		p("// of the eight round-key schedules and stores key i's block at")
		p("// out + i*stride + 16j. The eight states stay in X0-X7 through the ten")
		p("// rounds, each with its own key, so the AES unit has eight independent")
		p("// blocks in flight; round keys are loaded into X8-X15 as they are used.")
		p("TEXT ·ctr8KeysAESNI(SB), NOSPLIT, $0-40")
		p("\tMOVQ keys+0(FP), AX")
		p("\tMOVQ ctrs+8(FP), SI")
		p("\tMOVQ n+16(FP), CX")
		p("\tMOVQ out+24(FP), DI")
		p("\tMOVQ stride+32(FP), DX")
		// Lane i stores at DI + i*DX: 3*DX in BX, 5*DX in R11, 7*DX in R13.
		p("\tLEAQ (DX)(DX*2), BX")
		p("\tLEAQ (DX)(DX*4), R11")
		p("\tLEAQ (BX)(DX*4), R13")
		lane := []string{"(DI)", "(DI)(DX*1)", "(DI)(DX*2)", "(DI)(BX*1)", "(DI)(DX*4)", "(DI)(R11*1)", "(DI)(BX*2)", "(DI)(R13*1)"}
		key := func(i, r int) int { return 176*i + 16*r }
		p("")
		p("loop:")
		p("\tTESTQ CX, CX")
		p("\tJZ    done")
		p("\tMOVOU (SI), X15")
		for i := range 8 {
			p("\tMOVOU %d(AX), X%d", key(i, 0), i)
			p("\tPXOR X15, X%d", i)
		}
		for r := 1; r <= 10; r++ {
			op := "AESENC"
			if r == 10 {
				op = "AESENCLAST"
			}
			for i := range 8 {
				p("\tMOVOU %d(AX), X%d", key(i, r), 8+i)
				p("\t%s X%d, X%d", op, 8+i, i)
			}
		}
		for i := range 8 {
			p("\tMOVOU X%d, %s", i, lane[i])
		}
		p("\tADDQ $16, SI")
		p("\tADDQ $16, DI")
		p("\tDECQ CX")
		p("\tJMP  loop")
		p("")
		p("done:")
		p("\tRET")
		genVAES(p)
		genVAES512(p)
		genHashVAES(p)
		genHashVAES512(p)
	})
}

// genVAES writes ctr16KeysVAES: per pass, counters j and j+1 under all
// sixteen keys, 32 blocks in Y0-Y15 (register i holds leaves 2i and 2i+1 of
// one counter); the round keys are memory operands, round-major, so one
// 32-byte load serves two leaves.
func genVAES(p asmgen.Printf) {
	const stride = 512 // bytes from one leaf's buffer to the next: 8*ssChunk
	p("")
	p("// func ctr16KeysVAES(keys *[11][16][16]byte, ctrs *uint64, n int, out *byte)")
	p("//")
	p("// For j < n (n even), encrypts counter block j (the 16 bytes at ctrs+16j)")
	p("// under each of the sixteen round-key schedules (keys[r][y]: round r of")
	p("// key y) and stores key y's block at out + %d*y + 16j. Two counters per", stride)
	p("// pass: Y0-Y7 hold counter j under keys (0,1)..(14,15), Y8-Y15 counter")
	p("// j+1, 32 independent blocks for the AES units.")
	p("TEXT ·ctr16KeysVAES(SB), NOSPLIT, $0-32")
	p("\tMOVQ keys+0(FP), AX")
	p("\tMOVQ ctrs+8(FP), SI")
	p("\tMOVQ n+16(FP), CX")
	p("\tMOVQ out+24(FP), DI")
	p("")
	p("vloop:")
	p("\tTESTQ CX, CX")
	p("\tJZ    vdone")
	p("\tVBROADCASTI128 (SI), Y14")
	p("\tVBROADCASTI128 16(SI), Y15")
	key := func(r, i int) int { return 256*r + 32*i }
	// Round 0: Y0-Y7 from the first counter (in Y14), Y8-Y13 from the second
	// (in Y15), then Y14 and Y15 themselves.
	for i := range 8 {
		p("\tVPXOR %d(AX), Y14, Y%d", key(0, i), i)
	}
	for i := range 6 {
		p("\tVPXOR %d(AX), Y15, Y%d", key(0, i), 8+i)
	}
	p("\tVPXOR %d(AX), Y15, Y14", key(0, 6))
	p("\tVPXOR %d(AX), Y15, Y15", key(0, 7))
	for r := 1; r <= 10; r++ {
		op := "VAESENC"
		if r == 10 {
			op = "VAESENCLAST"
		}
		for i := range 8 {
			p("\t%s %d(AX), Y%d, Y%d", op, key(r, i), i, i)
			p("\t%s %d(AX), Y%d, Y%d", op, key(r, i), 8+i, 8+i)
		}
	}
	for c := range 2 {
		for i := range 8 {
			reg := 8*c + i
			p("\tVMOVDQU X%d, %d(DI)", reg, stride*2*i+16*c)
			p("\tVEXTRACTI128 $1, Y%d, %d(DI)", reg, stride*(2*i+1)+16*c)
		}
	}
	p("\tADDQ $32, SI")
	p("\tADDQ $32, DI")
	p("\tSUBQ $2, CX")
	p("\tJMP  vloop")
	p("")
	p("vdone:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// genVAES512 writes ctr16KeysVAES512: per pass, counters j..j+7 under eight
// of the sixteen keys, then under the other eight: 64 blocks in Z0-Z15
// (registers i and 8+i hold leaf i's blocks of counters j..j+3 and j+4..j+7,
// each stored to its buffer at once); each round key is broadcast to the four
// lanes once for the two registers. Against ctr16KeysVAES, a round key load
// serves eight blocks instead of two and a store four instead of one: that
// kernel ran at ~4.4 cycles per block on Zen 4 against the AES units' 2.5
// (two YMM VAESENC per cycle), bound by its loads and stores.
func genVAES512(p asmgen.Printf) {
	const stride = 512 // bytes from one leaf's buffer to the next: 8*ssChunk
	p("")
	p("// func ctr16KeysVAES512(keys *[11][16][16]byte, ctrs *uint64, n int, out *byte)")
	p("//")
	p("// For j < n (n a multiple of 8), encrypts counter block j (the 16 bytes at")
	p("// ctrs+16j) under each of the sixteen round-key schedules (keys[r][y]:")
	p("// round r of key y) and stores key y's block at out + %d*y + 16j. Eight", stride)
	p("// counters per pass, in Z16 and Z17, under keys 0-7 then 8-15; Zi and Z8+i")
	p("// their states under key i (or 8+i); round keys are broadcast into Z18-Z25")
	p("// in turn.")
	p("TEXT ·ctr16KeysVAES512(SB), NOSPLIT, $0-32")
	p("\tMOVQ keys+0(FP), AX")
	p("\tMOVQ ctrs+8(FP), SI")
	p("\tMOVQ n+16(FP), CX")
	p("\tMOVQ out+24(FP), DI")
	p("")
	p("zloop:")
	p("\tTESTQ CX, CX")
	p("\tJZ    zdone")
	p("\tVMOVDQU64 (SI), Z16")
	p("\tVMOVDQU64 64(SI), Z17")
	key := func(r, y int) int { return 256*r + 16*y }
	for half := range 2 {
		for r := 0; r <= 10; r++ {
			for i := range 8 {
				tmp := 18 + i
				p("\tVBROADCASTI32X4 %d(AX), Z%d", key(r, 8*half+i), tmp)
				for c := range 2 {
					reg := 8*c + i
					switch r {
					case 0:
						p("\tVPXORQ Z%d, Z%d, Z%d", tmp, 16+c, reg)
					case 10:
						p("\tVAESENCLAST Z%d, Z%d, Z%d", tmp, reg, reg)
					default:
						p("\tVAESENC Z%d, Z%d, Z%d", tmp, reg, reg)
					}
				}
			}
		}
		for i := range 8 {
			for c := range 2 {
				p("\tVMOVDQU64 Z%d, %d(DI)", 8*c+i, stride*(8*half+i)+64*c)
			}
		}
	}
	p("\tADDQ $128, SI")
	p("\tADDQ $128, DI")
	p("\tSUBQ $8, CX")
	p("\tJMP  zloop")
	p("")
	p("zdone:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// genHashVAES writes hashRowsVAES: crHash's H(tweak+i, row_i ^ d) for sixteen
// rows per pass, two rows per YMM register.
func genHashVAES(p asmgen.Printf) {
	p("")
	p("// func hashRowsVAES(keys *[11][32]byte, rows *uint64, n int, c *[12]uint64, out *uint64)")
	p("//")
	p("// For rows i < n (n a multiple of 16; row i is rows[2i], rows[2i+1]):")
	p("// lo = rows[2i] ^ d0 ^ (tweak+i), hi = rows[2i+1] ^ d1, the block")
	p("// sigma(lo, hi) = (lo ^ hi, lo), out[i] = low word of AES(block) ^ block.")
	p("// keys holds each round key twice (one per 128-bit lane); c is (d0, d1,")
	p("// d0, d1), (tweak, 0, tweak+1, 0), (2, 0, 2, 0). Sixteen rows per pass in")
	p("// Y0-Y7; the blocks wait for the feed-forward in the frame.")
	p("TEXT ·hashRowsVAES(SB), NOSPLIT, $256-40")
	p("\tMOVQ keys+0(FP), AX")
	p("\tMOVQ rows+8(FP), SI")
	p("\tMOVQ n+16(FP), CX")
	p("\tMOVQ c+24(FP), DX")
	p("\tMOVQ out+32(FP), DI")
	p("\tVMOVDQU 0(DX), Y8  // d")
	p("\tVMOVDQU 32(DX), Y9 // indices")
	p("\tVMOVDQU 64(DX), Y10 // index step")
	p("")
	p("hloop:")
	p("\tTESTQ CX, CX")
	p("\tJZ    hdone")
	for k := range 8 {
		p("\tVPXOR %d(SI), Y8, Y%d", 32*k, k)
		p("\tVPXOR Y9, Y%d, Y%d", k, k)
		p("\tVPADDQ Y10, Y9, Y9")
		p("\tVPSHUFD $0x4e, Y%d, Y11 // (hi, lo)", k)
		p("\tVPXOR Y%d, Y11, Y12", k)
		p("\tVPBLENDD $0xcc, Y11, Y12, Y%d // (lo ^ hi, lo)", k)
		p("\tVMOVDQU Y%d, %d(SP)", k, 32*k)
		p("\tVPXOR 0(AX), Y%d, Y%d", k, k)
	}
	for r := 1; r <= 10; r++ {
		op := "VAESENC"
		if r == 10 {
			op = "VAESENCLAST"
		}
		for k := range 8 {
			p("\t%s %d(AX), Y%d, Y%d", op, 32*r, k, k)
		}
	}
	for k := range 8 {
		p("\tVPXOR %d(SP), Y%d, Y%d", 32*k, k, k)
	}
	// Low words of (Y0, Y1): lanes (r0, r1), (r2, r3) -> r0, r2, r1, r3 -> r0..r3.
	for k := 0; k < 8; k += 2 {
		p("\tVPUNPCKLQDQ Y%d, Y%d, Y11", k+1, k)
		p("\tVPERMQ $0xd8, Y11, Y11")
		p("\tVMOVDQU Y11, %d(DI)", 16*k)
	}
	p("\tADDQ $256, SI")
	p("\tADDQ $128, DI")
	p("\tSUBQ $16, CX")
	p("\tJMP  hloop")
	p("")
	p("hdone:")
	p("\tVZEROUPPER")
	p("\tRET")
}

// genHashVAES512 writes hashRowsVAES512: hashRowsVAES on ZMM registers, 32
// rows per pass, four per register, with the round keys in registers (the
// YMM kernel read them from memory, one load per two blocks per round) and
// the sigma blocks kept in registers for the feed-forward (it stored them to
// the frame).
func genHashVAES512(p asmgen.Printf) {
	p("")
	p("// func hashRowsVAES512(keys *[11][32]byte, rows *uint64, n int, c *[40]uint64, out *uint64)")
	p("//")
	p("// hashRowsVAES for n a multiple of 32. c is (d0, d1) four times, (tweak,")
	p("// 0, tweak+1, 0, tweak+2, 0, tweak+3, 0), (4, 0) four times, (2^64-1, 0)")
	p("// four times and the qword indices 0, 2, ..., 14. Registers: Z0-Z7 the")
	p("// states of rows 4k..4k+3, Z8-Z15 their sigma blocks, Z16-Z26 the round")
	p("// keys, Z27-Z30 the first four vectors of c, Z31 a temporary.")
	p("TEXT ·hashRowsVAES512(SB), NOSPLIT, $0-40")
	p("\tMOVQ keys+0(FP), AX")
	p("\tMOVQ rows+8(FP), SI")
	p("\tMOVQ n+16(FP), CX")
	p("\tMOVQ c+24(FP), DX")
	p("\tMOVQ out+32(FP), DI")
	for r := 0; r <= 10; r++ {
		p("\tVBROADCASTI32X4 %d(AX), Z%d", 32*r, 16+r)
	}
	p("\tVMOVDQU64 0(DX), Z27   // d")
	p("\tVMOVDQU64 64(DX), Z28  // indices")
	p("\tVMOVDQU64 128(DX), Z29 // index step")
	p("\tVMOVDQU64 192(DX), Z30 // low qwords")
	p("")
	p("hzloop:")
	p("\tTESTQ CX, CX")
	p("\tJZ    hzdone")
	for k := range 8 {
		p("\tVPXORQ %d(SI), Z27, Z%d", 64*k, k)
		p("\tVPXORQ Z28, Z%d, Z%d", k, k)
		p("\tVPADDQ Z29, Z28, Z28")
		p("\tVPSHUFD $0x4e, Z%d, Z31 // (hi, lo)", k)
		p("\tVPANDQ Z30, Z%d, Z%d // (lo, 0)", k, k)
		p("\tVPXORQ Z31, Z%d, Z%d // (lo ^ hi, lo)", k, 8+k)
		p("\tVPXORQ Z16, Z%d, Z%d", 8+k, k)
	}
	for r := 1; r <= 10; r++ {
		op := "VAESENC"
		if r == 10 {
			op = "VAESENCLAST"
		}
		for k := range 8 {
			p("\t%s Z%d, Z%d, Z%d", op, 16+r, k, k)
		}
	}
	for k := range 8 {
		p("\tVPXORQ Z%d, Z%d, Z%d", 8+k, k, k)
	}
	// The low qwords of two registers' lanes, in row order, into one.
	p("\tVMOVDQU64 256(DX), Z8")
	for k := 0; k < 8; k += 2 {
		p("\tVPERMT2Q Z%d, Z8, Z%d", k+1, k)
		p("\tVMOVDQU64 Z%d, %d(DI)", k, 32*k)
	}
	p("\tADDQ $512, SI")
	p("\tADDQ $256, DI")
	p("\tSUBQ $32, CX")
	p("\tJMP  hzloop")
	p("")
	p("hzdone:")
	p("\tVZEROUPPER")
	p("\tRET")
}

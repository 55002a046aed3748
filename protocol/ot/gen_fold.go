//go:build ignore

// gen_fold writes fold_amd64.s: foldLeaves (softspoken.go) on four words at a
// time with AVX2. Run by `go generate ./protocol/ot`.
package main

import (
	"fmt"

	"github.com/tessera-mpc/tessera/internal/asmgen"
)

func main() {
	asmgen.Write("gen_fold.go", "fold_amd64.s", func(p asmgen.Printf) {
		const row = 512 // bytes per leaf or column buffer: 8*ssChunk
		g := func(x int) string { return fmt.Sprintf("%d(AX)", row*x) }
		p("// func foldLeavesAVX2(leaves *[16][64]uint64, n int, cols *[4][64]uint64)")
		p("//")
		p("// foldLeaves on words 0..4*ceil(n/4)-1 (n > 0), four per pass: cols[i]")
		p("// is the XOR of the leaves with bit i set, leaves[0] the XOR of all sixteen,")
		p("// by the same tree of pairwise sums. sAB in a comment is leaves A..B.")
		p("TEXT ·foldLeavesAVX2(SB), NOSPLIT, $0-24")
		p("\tMOVQ leaves+0(FP), AX")
		p("\tMOVQ n+8(FP), CX")
		p("\tMOVQ cols+16(FP), BX")
		p("")
		p("loop:")
		// Y0..Y7: s01, s23, s45, s67, s89, s1011, s1213, s1415; Y8 the XOR of
		// the even leaves, held as they are loaded (reloading the odd ones
		// for cols[0] made the kernel bound by its loads).
		for k := range 8 {
			if k == 0 {
				p("\tVMOVDQU %s, Y8", g(0))
				p("\tVPXOR %s, Y8, Y0", g(1))
				continue
			}
			p("\tVMOVDQU %s, Y11", g(2*k))
			p("\tVPXOR Y11, Y8, Y8")
			p("\tVPXOR %s, Y11, Y%d", g(2*k+1), k)
		}
		p("\tVPXOR Y1, Y3, Y9  // s23 ^ s67")
		p("\tVPXOR Y5, Y7, Y10 // s1011 ^ s1415")
		p("\tVPXOR Y9, Y10, Y9")
		p("\tVMOVDQU Y9, %d(BX)", row)
		p("\tVPXOR Y0, Y1, Y0  // s03")
		p("\tVPXOR Y2, Y3, Y2  // s47")
		p("\tVPXOR Y4, Y5, Y4  // s811")
		p("\tVPXOR Y6, Y7, Y6  // s1215")
		p("\tVPXOR Y2, Y6, Y9  // s47 ^ s1215")
		p("\tVMOVDQU Y9, %d(BX)", 2*row)
		p("\tVPXOR Y4, Y6, Y4  // s815")
		p("\tVMOVDQU Y4, %d(BX)", 3*row)
		p("\tVPXOR Y0, Y2, Y0")
		p("\tVPXOR Y0, Y4, Y0")
		p("\tVMOVDQU Y0, %s", g(0))
		p("\tVPXOR Y0, Y8, Y8 // cols[0], the odd leaves: all of them but the even")
		p("\tVMOVDQU Y8, %d(BX)", 0)
		p("\tADDQ $32, AX")
		p("\tADDQ $32, BX")
		p("\tSUBQ $4, CX")
		p("\tJG   loop")
		p("\tVZEROUPPER")
		p("\tRET")
	})
}

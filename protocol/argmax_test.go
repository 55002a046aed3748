package protocol_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// argmaxInputs returns, for each number of columns, a matrix with random rows,
// rows with many ties, all-equal rows, extremes (±(2^62-1) on 64 bits, ±(2^30-1)
// on 32, whose differences are the largest the width's bound allows) and ring
// values near zero (±1 ulp apart).
func argmaxInputs(codec sharing.Codec, colsList []int, width int) []sharing.Tensor {
	maxFixed := uint64(1<<(width-2) - 1)
	var inputs []sharing.Tensor
	for _, cols := range colsList {
		x, _ := randomFixed(codec, math.Ldexp(1, width-3-codec.FracBits), 12, cols)
		small := randomRing(4 * cols)
		for j := range 4 * cols {
			x.Data[j] = uint64(int64(small.Data[j]%3)-1) << codec.FracBits
		}
		for j := range cols {
			x.Data[4*cols+j] = -codec.One()
			x.Data[5*cols+j] = -maxFixed
			x.Data[6*cols+j] = uint64(int64(small.Data[j]%3) - 1) // -1, 0, 1 ulp
			x.Data[7*cols+j] = 0
			x.Data[8*cols+j] = maxFixed
		}
		x.Data[5*cols+cols/2] = maxFixed
		x.Data[9*cols] = maxFixed
		x.Data[9*cols+cols-1] = maxFixed
		inputs = append(inputs, x)
	}
	return inputs
}

// plainMaxArg is the plaintext twin's max pooling (nn's maxRows): the row maximum
// and 1 at every entry equal to it.
func plainMaxArg(x sharing.Tensor) (max, ind []uint64) {
	rows, cols := x.Shape[0], x.Shape[1]
	for r := range rows {
		row := x.Data[r*cols : (r+1)*cols]
		best := row[0]
		for _, v := range row {
			if int64(v) > int64(best) {
				best = v
			}
		}
		max = append(max, best)
		for _, v := range row {
			if v == best {
				ind = append(ind, 1)
			} else {
				ind = append(ind, 0)
			}
		}
	}
	return max, ind
}

// TestMaxRowsArgMatchesPlaintext checks the maxima and the tie-sharing winner bits
// exactly, and the documented rounds, on 64 bits (MaxRowsArg) and on 32 bits
// (MaxRowsArgOn) within its bound.
func TestMaxRowsArgMatchesPlaintext(t *testing.T) {
	for _, width := range []int{64, 32} {
		for _, parties := range partyCounts {
			t.Run(fmt.Sprintf("width=%d/parties=%d", width, parties), func(t *testing.T) {
				checkMaxRowsArg(t, parties, width)
			})
		}
	}
}

func checkMaxRowsArg(t *testing.T, parties, width int) {
	codec := sharing.Codec{FracBits: 16}
	for k, x := range argmaxInputs(codec, []int{1, 2, 3, 4, 5, 9}, width) {
		run := runShared(t, parties, 16, []sharing.Tensor{x}, func(ctx context.Context, e *protocol.Engine, mine []sharing.Tensor) ([]sharing.Tensor, error) {
			maxRowsArg := func() (sharing.Tensor, sharing.Tensor, error) { return e.MaxRowsArgOn(ctx, mine[0], width) }
			if width == 64 {
				maxRowsArg = func() (sharing.Tensor, sharing.Tensor, error) { return e.MaxRowsArg(ctx, mine[0]) }
			}
			m, w, err := maxRowsArg()
			return []sharing.Tensor{m, w}, err
		})
		rows, cols := x.Shape[0], x.Shape[1]
		if want := protocol.MaxRowsArgRoundsOn(parties, cols, width); run.rounds != want {
			t.Fatalf("%d columns: %d rounds, documented %d", cols, run.rounds, want)
		}
		m, w := run.out[0], run.out[1]
		if len(m.Shape) != 2 || m.Shape[0] != rows || m.Shape[1] != 1 || len(w.Shape) != 2 || w.Shape[0] != rows || w.Shape[1] != cols {
			t.Fatalf("%d columns: shapes %v and %v", cols, m.Shape, w.Shape)
		}
		wantMax, wantInd := plainMaxArg(x)
		for r := range rows {
			if m.Data[r] != wantMax[r] {
				t.Fatalf("input %d (%d columns), row %d: max %d, want %d", k, cols, r, int64(m.Data[r]), int64(wantMax[r]))
			}
			for j := range cols {
				if got := w.Data[r*cols+j]; got != wantInd[r*cols+j] {
					t.Fatalf("input %d (%d columns), row %d %v: winner bit %d at column %d, want %d", k, cols, r, x.Data[r*cols:(r+1)*cols], got, j, wantInd[r*cols+j])
				}
			}
		}
	}
}

// argmaxViewOfParty0 runs MaxRowsArgOn on shares of x and returns every word party
// 0 received.
func argmaxViewOfParty0(t *testing.T, n, width int, x sharing.Tensor) []uint64 {
	t.Helper()
	shares := splitAll(t, n, x)
	var rec *recorder
	watch := func(tr protocol.Transport) protocol.Transport { rec = &recorder{Transport: tr}; return rec }
	runWithParty0Seen(t, n, watch, func(ctx context.Context, e *protocol.Engine, i int) error {
		_, _, err := e.MaxRowsArgOn(ctx, shares[i][0], width)
		return err
	})
	return rec.seen
}

// TestMaxRowsArgViewUniform checks that what party 0 receives during MaxRowsArg
// (on 64 and 32 bits) is uniform and the same whatever the input: all zeros
// (every entry ties), one maximum per row, or a ramp through both signs.
func TestMaxRowsArgViewUniform(t *testing.T) {
	const rows, cols = 1024, 4
	zero := sharing.Zeros(rows, cols)
	single := sharing.Zeros(rows, cols)
	ramp := sharing.Zeros(rows, cols)
	for i := range ramp.Data {
		ramp.Data[i] = uint64(i-rows*cols/2) << 18
		if i%cols == (i/cols)%cols {
			single.Data[i] = 5 << 16
		}
	}
	crit := distuv.ChiSquared{K: 30}.Quantile(1 - 1e-6)
	critTwo := distuv.ChiSquared{K: 32}.Quantile(1 - 1e-6)
	for _, width := range []int{64, 32} {
		for _, n := range partyCounts {
			checkArgmaxViewUniform(t, n, width, []sharing.Tensor{zero, single, ramp}, crit, critTwo)
		}
	}
}

func checkArgmaxViewUniform(t *testing.T, n, width int, inputs []sharing.Tensor, crit, critTwo float64) {
	t.Helper()
	var hists [][]float64
	var counts []int
	for k, x := range inputs {
		var words []uint64
		for rep := 0; rep < 2; rep++ {
			words = append(words, argmaxViewOfParty0(t, n, width, x)...)
		}
		h := histogram(words)
		if stat := chiSquareUniform(h, len(words)); stat > crit {
			t.Fatalf("width %d, n=%d input %d: party 0's view is not uniform: chi-square %.1f > %.1f over %d words", width, n, k, stat, crit, len(words))
		}
		hists, counts = append(hists, h), append(counts, len(words))
	}
	for k := 1; k < len(hists); k++ {
		if counts[k] != counts[0] {
			t.Fatalf("n=%d: view sizes differ with the input: %d vs %d words", n, counts[k], counts[0])
		}
		if stat := chiSquareTwoSample(hists[0], hists[k]); stat > critTwo {
			t.Fatalf("n=%d: view with input %d differs from the view with zeros: chi-square %.1f > %.1f", n, k, stat, critTwo)
		}
	}
	t.Logf("width %d, n=%d: %d words per view, uniform", width, n, counts[0]/2)
}

// BenchmarkMaxPoolTraining compares, on LeNet's first pooling layer (a batch of
// 128, 20 maps of 12x12 windows of 4 entries), what a training pass computes:
// the maximum alone (inference), the maximum and then a comparison of every
// entry with it (the winner bits before MaxRowsArg), and MaxRowsArg.
func BenchmarkMaxPoolTraining(b *testing.B) {
	const rows, cols = 128 * 20 * 12 * 12, 4
	variants := []struct {
		name string
		op   func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error
	}{
		{"max", func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
			_, err := e.MaxRows(ctx, x)
			return err
		}},
		{"max+compare", func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
			m, err := e.MaxRows(ctx, x)
			if err != nil {
				return err
			}
			d := sharing.Zeros(rows, cols)
			for i := range d.Data {
				d.Data[i] = x.Data[i] - m.Data[i/cols]
			}
			_, err = e.LessThanZero(ctx, d)
			return err
		}},
		{"max-arg", func(ctx context.Context, e *protocol.Engine, x sharing.Tensor) error {
			_, _, err := e.MaxRowsArg(ctx, x)
			return err
		}},
	}
	for _, n := range []int{2, 3} {
		for _, v := range variants {
			b.Run(fmt.Sprintf("parties=%d/%dx%d/%s", n, rows, cols, v.name), func(b *testing.B) {
				benchNonlinear(b, n, rows, cols, 8, v.op)
			})
		}
	}
}

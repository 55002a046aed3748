package nn_test

import (
	"context"
	"crypto/rand"
	"math"
	mrand "math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/protocoltest"
	"github.com/tessera-mpc/tessera/sharing"
)

// The aggregate test metrics against their plaintext twins (nn.MSE, nn.Accuracy),
// with ties and values at the 0.5 threshold among the predictions.
func TestSecureAggregateMetrics(t *testing.T) {
	codec := sharing.Codec{FracBits: 16}
	rng := mrand.New(mrand.NewPCG(1, 2)) // test data, not secrets
	for _, n := range []int{2, 3, 5} {
		for _, cols := range []int{1, 4} {
			rows := 37
			pred := mat.NewDense(rows, cols, nil)
			target := mat.NewDense(rows, cols, nil)
			for i := range rows {
				for j := range cols {
					// multiples of 1/4 make ties and exact 0.5 values common
					pred.Set(i, j, float64(rng.IntN(9)-2)/4)
				}
				if cols == 1 {
					target.Set(i, 0, float64(rng.IntN(2)))
				} else {
					target.Set(i, rng.IntN(cols), 1)
				}
			}
			enc, err := codec.EncodeTensor(pred.RawMatrix().Data, rows, cols)
			if err != nil {
				t.Fatal(err)
			}
			shares, err := sharing.Split(rand.Reader, enc, n)
			if err != nil {
				t.Fatal(err)
			}
			got := protocoltest.Engines(t, n, protocol.Config{Codec: codec}, func(ctx context.Context, e *protocol.Engine) ([2]float64, error) {
				sse, err := nn.SquaredErrorTotal(ctx, e, shares[e.Self()], target)
				if err != nil {
					return [2]float64{}, err
				}
				correct, err := nn.CorrectCount(ctx, e, shares[e.Self()], target)
				if err != nil {
					return [2]float64{}, err
				}
				opened, err := e.Open(ctx, sse, correct)
				if err != nil {
					return [2]float64{}, err
				}
				return [2]float64{codec.Decode(opened[0].Data[0]), float64(int64(opened[1].Data[0]))}, nil
			})
			wantSSE := nn.MSE(pred, target) * float64(rows*cols)
			wantCorrect := nn.Accuracy(pred, target) * float64(rows)
			for i, g := range got {
				if math.Abs(g[0]-wantSSE) > 1e-3*float64(rows*cols) {
					t.Errorf("%d parties, %d outputs, party %d: squared error %v, want %v", n, cols, i, g[0], wantSSE)
				}
				if g[1] != math.Round(wantCorrect) {
					t.Errorf("%d parties, %d outputs, party %d: %v correct, want %v", n, cols, i, g[1], wantCorrect)
				}
			}
		}
	}
}

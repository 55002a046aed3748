package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/sharing"
)

// Predicting a chunk at a time gives the bits of predicting all rows at once, also
// at sizes where the matrix product runs in parallel blocks and with a last chunk
// of a single row.
func TestPredictRowsBitIdentical(t *testing.T) {
	relu, err := nn.ActivationByName("relu")
	if err != nil {
		t.Fatal(err)
	}
	identity, err := nn.ActivationByName("identity")
	if err != nil {
		t.Fatal(err)
	}
	spec := nn.Spec{Inputs: 300, Layers: []nn.Layer{{Units: 128, Activation: relu}, {Units: 10, Activation: identity}}, Loss: nn.LossCrossEntropy}
	params := nn.InitParams(spec, sharing.Seed{7})
	rng := rand.New(rand.NewPCG(1, 2)) // test data, not a secret
	for _, rows := range []int{1, predictChunk, 2*predictChunk + 1} {
		x := make([][]float64, rows)
		for i := range x {
			x[i] = make([]float64, spec.Inputs)
			for j := range x[i] {
				x[i][j] = rng.NormFloat64()
			}
		}
		want := nn.Predict(spec, params, experiment.DenseOf(x, spec.Inputs))
		got := predictRows(spec, params, x)
		r, c := want.Dims()
		if gr, gc := got.Dims(); gr != r || gc != c {
			t.Fatalf("%d rows: %dx%d, want %dx%d", rows, gr, gc, r, c)
		}
		for i := range r {
			for j := range c {
				if math.Float64bits(got.At(i, j)) != math.Float64bits(want.At(i, j)) {
					t.Fatalf("%d rows: prediction (%d, %d) is %v, want %v", rows, i, j, got.At(i, j), want.At(i, j))
				}
			}
		}
	}
}

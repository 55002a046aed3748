package train

import (
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"gonum.org/v1/gonum/mat"
)

// predictChunk bounds the rows of one plaintext prediction, so that evaluating a
// model on a whole training set (60,000 MNIST rows: 376 MB as one matrix, more in
// activations) never holds the rows as one matrix, only their predictions.
const predictChunk = 1024

// predictRows is nn.Predict on the rows x, predictChunk rows at a time; x must not
// be empty. The result is bit-identical to predicting on all rows at once: every
// output row depends only on its input row, and a matrix product sums each element
// over the inner dimension in the same order whatever the number of rows.
func predictRows(spec nn.Spec, params nn.Params, x [][]float64) *mat.Dense {
	out := mat.NewDense(len(x), spec.Outputs(), nil)
	for from := 0; from < len(x); from += predictChunk {
		to := min(from+predictChunk, len(x))
		chunk := nn.Predict(spec, params, experiment.DenseOf(x[from:to], spec.Inputs))
		out.Slice(from, to, 0, spec.Outputs()).(*mat.Dense).Copy(chunk)
	}
	return out
}

package serve

import (
	"context"
	"fmt"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// publicModel runs a model that every party holds in the clear (a revealed
// model.json) on shared rows. A product of shared rows by public weights
// needs no Beaver triple: each party multiplies its own share, X_i W, and the
// shares add up to XW. So a layer costs one truncation, fused with the ReLU's
// sign rounds (TruncateReLU), instead of a Beaver product (a round, and the
// masked rows to every peer: 6.4 MB per peer for 1,024 MNIST rows in the
// first layer) followed by a truncation and a ReLU. The parties learn no more
// than with the shared model: only the engine's masked openings travel.
//
// Only dense layers with ReLU or identity activations take this path (the
// MNIST and tabular MLPs); anything else runs as nn.Secure does.
type publicModel struct {
	w, b []sharing.Tensor // encoded at f fractional bits; b at 2f, added by party 0
	relu []bool
}

// newPublicModel encodes the model, or returns nil when a layer is not a
// dense layer with ReLU or identity activation.
func newPublicModel(codec sharing.Codec, spec nn.Spec, p nn.Params) (*publicModel, error) {
	if len(p.W) != len(spec.Layers) || len(p.B) != len(spec.Layers) {
		return nil, nil
	}
	m := &publicModel{}
	for l, layer := range spec.Layers {
		name := layer.Activation.Name
		if (layer.Type != "" && layer.Type != nn.LayerDense) || (name != "relu" && !layer.Activation.IsIdentity()) {
			return nil, nil
		}
		rw, rb := p.W[l].RawMatrix(), p.B[l].RawMatrix()
		w, err := codec.EncodeTensor(rw.Data, rw.Rows, rw.Cols)
		if err != nil {
			return nil, fmt.Errorf("serve: layer %d weights: %w", l, err)
		}
		b, err := codec.EncodeTensor(rb.Data, 1, rb.Cols)
		if err != nil {
			return nil, fmt.Errorf("serve: layer %d bias: %w", l, err)
		}
		if b.Cols() != w.Cols() || w.Cols() != layer.Units {
			return nil, fmt.Errorf("serve: layer %d: weights %v and bias %v", l, w.Shape, b.Shape)
		}
		m.w = append(m.w, w)
		m.b = append(m.b, sharing.Scale(b, codec.One()))
		m.relu = append(m.relu, name == "relu")
	}
	return m, nil
}

// forward returns shares of the model's outputs on the shared rows x.
// Rounds per layer: TruncateReLU's (ReLURounds) or one truncation.
func (m *publicModel) forward(ctx context.Context, e *protocol.Engine, x sharing.Tensor) (sharing.Tensor, error) {
	for l, w := range m.w {
		if x.Cols() != w.Rows() {
			return sharing.Tensor{}, fmt.Errorf("layer %d takes %d values a row, got %d", l, w.Rows(), x.Cols())
		}
		z := sharing.MatMul(x, w)
		if e.Self() == 0 {
			z = sharing.AddRowVector(z, m.b[l])
		}
		var err error
		if m.relu[l] {
			x, _, err = e.TruncateReLU(ctx, z)
		} else {
			x, err = e.Truncate(ctx, z)
		}
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("layer %d: %w", l, err)
		}
	}
	return x, nil
}

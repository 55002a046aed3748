package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/train"
	"gonum.org/v1/gonum/mat"
)

// ModelFile is a saved model: the experiment config (which defines the network),
// the public feature scaling, and either the weights in the clear or one party's
// shares of them.
type ModelFile struct {
	Format string                `json:"format"` // "tessera-model/1"
	Config *experiment.Config    `json:"config"`
	Scaler *dataset.Standardizer `json:"scaler,omitempty"`
	// Plain model: W[l] row-major with its shape.
	Layers []PlainLayer       `json:"layers,omitempty"`
	Shares *train.ModelShares `json:"shares,omitempty"`
}

// PlainLayer is one dense layer in the clear.
type PlainLayer struct {
	In  int       `json:"in"`
	Out int       `json:"out"`
	W   []float64 `json:"w"`
	B   []float64 `json:"b"`
}

const modelFormat = "tessera-model/1"

// SaveModels writes what this run produced to dir: model.json when a party learned
// the model, model-share-<i>.json for each party's share when it stayed shared.
// Files are written atomically.
func SaveModels(dir string, cfg *experiment.Config, results []*train.SecureResult) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("model output: %w", err)
	}
	var written []string
	savedPlain := false
	for i, r := range results {
		if r == nil {
			continue
		}
		if r.Model != nil && !savedPlain {
			f := ModelFile{Format: modelFormat, Config: cfg, Scaler: r.Scaler}
			for l := range r.Model.W {
				in, out := r.Model.W[l].Dims()
				f.Layers = append(f.Layers, PlainLayer{In: in, Out: out, W: append([]float64(nil), r.Model.W[l].RawMatrix().Data...), B: append([]float64(nil), r.Model.B[l].RawMatrix().Data...)})
			}
			path := filepath.Join(dir, "model.json")
			if err := WriteJSON(path, f); err != nil {
				return written, err
			}
			written, savedPlain = append(written, path), true
		}
		if r.Shares != nil {
			path := filepath.Join(dir, fmt.Sprintf("model-share-%d.json", i))
			if err := WriteJSON(path, ModelFile{Format: modelFormat, Config: cfg, Scaler: r.Scaler, Shares: r.Shares}); err != nil {
				return written, err
			}
			written = append(written, path)
		}
	}
	return written, nil
}

// LoadModel reads a model file and checks it against its own config.
func LoadModel(path string) (*ModelFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	var f ModelFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	if f.Format != modelFormat || f.Config == nil {
		return nil, fmt.Errorf("model %s: not a %s file", path, modelFormat)
	}
	f.Config.Defaults()
	if err := f.Config.Validate(); err != nil {
		return nil, fmt.Errorf("model %s: config: %w", path, err)
	}
	if (f.Layers == nil) == (f.Shares == nil) {
		return nil, fmt.Errorf("model %s: holds neither plain weights nor shares", path)
	}
	if err := f.checkShapes(); err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return &f, nil
}

// checkShapes compares the weights (or shares) with the W/B pairs the config's
// network has: one per dense or conv2d layer, a convolution's kernel as a
// (kernel*kernel*channels in) x maps matrix.
func (f *ModelFile) checkShapes() error {
	var rows, cols, bias []int
	for _, l := range f.Layers {
		if l.In < 1 || l.In*l.Out != len(l.W) || l.Out != len(l.B) {
			return fmt.Errorf("layer %d has inconsistent sizes", len(rows))
		}
		rows, cols, bias = append(rows, l.In), append(cols, l.Out), append(bias, l.Out)
	}
	if f.Shares != nil {
		if len(f.Shares.W) != len(f.Shares.B) {
			return fmt.Errorf("shares of %d weights and %d biases", len(f.Shares.W), len(f.Shares.B))
		}
		for l, w := range f.Shares.W {
			b := f.Shares.B[l]
			if len(w.Shape) != 2 || len(b.Shape) != 2 || b.Shape[0] != 1 {
				return fmt.Errorf("layer %d: shares of shapes %v and %v", l, w.Shape, b.Shape)
			}
			rows, cols, bias = append(rows, w.Shape[0]), append(cols, w.Shape[1]), append(bias, b.Shape[1])
		}
	}
	inputs := 1
	if len(rows) > 0 {
		inputs = rows[0] // a dense first layer takes the features
	}
	if shape, ok := f.Config.ImageShape(); ok {
		inputs = shape.Size()
	}
	spec, err := f.Config.Spec(inputs)
	if err != nil {
		return err
	}
	want, err := spec.ParamShapes()
	if err != nil {
		return err
	}
	if len(rows) != len(want) {
		return fmt.Errorf("%d layers of weights, the config's network has %d", len(rows), len(want))
	}
	for l, w := range want {
		if rows[l] != w[0] || cols[l] != w[1] || bias[l] != w[1] {
			return fmt.Errorf("layer %d has weights %dx%d and %d biases, the config's network %dx%d and %d", l, rows[l], cols[l], bias[l], w[0], w[1], w[1])
		}
	}
	return nil
}

// Params returns a plain model's parameters.
func (f *ModelFile) Params() nn.Params {
	var p nn.Params
	for _, l := range f.Layers {
		p.W = append(p.W, mat.NewDense(l.In, l.Out, append([]float64(nil), l.W...)))
		p.B = append(p.B, mat.NewDense(1, l.Out, append([]float64(nil), l.B...)))
	}
	return p
}

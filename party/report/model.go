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
	n := len(f.Config.Model.Layers)
	if f.Layers != nil && len(f.Layers) != n {
		return nil, fmt.Errorf("model %s: %d layers, the config has %d", path, len(f.Layers), n)
	}
	if f.Shares != nil && (len(f.Shares.W) != n || len(f.Shares.B) != n) {
		return nil, fmt.Errorf("model %s: shares of %d layers, the config has %d", path, len(f.Shares.W), n)
	}
	for l, layer := range f.Layers {
		if layer.In < 1 || layer.In*layer.Out != len(layer.W) || layer.Out != len(layer.B) || layer.Out != f.Config.Model.Layers[l].Units {
			return nil, fmt.Errorf("model %s: layer %d has inconsistent sizes", path, l)
		}
		if l > 0 && layer.In != f.Layers[l-1].Out {
			return nil, fmt.Errorf("model %s: layer %d takes %d inputs, layer %d gives %d", path, l, layer.In, l-1, f.Layers[l-1].Out)
		}
	}
	return &f, nil
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

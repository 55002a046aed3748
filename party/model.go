package party

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// ModelShares is one party's additive share of a model that stays secret-shared.
type ModelShares struct {
	Party     int              `json:"party"`
	Parties   int              `json:"parties"`
	Precision int              `json:"precision"`
	W         []sharing.Tensor `json:"weights"`
	B         []sharing.Tensor `json:"biases"`
}

// ModelFile is a saved model: the experiment config (which defines the network),
// the public feature scaling, and either the weights in the clear or one party's
// shares of them.
type ModelFile struct {
	Format string                `json:"format"` // "tessera-model/1"
	Config *Config               `json:"config"`
	Scaler *dataset.Standardizer `json:"scaler,omitempty"`
	// Plain model: W[l] row-major with its shape.
	Layers []PlainLayer `json:"layers,omitempty"`
	Shares *ModelShares `json:"shares,omitempty"`
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
func SaveModels(dir string, cfg *Config, results []*SecureResult) ([]string, error) {
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

// Prediction is the outcome of evaluating a saved model on a dataset.
type Prediction struct {
	Rows    int     `json:"rows"`
	Metrics Metrics `json:"metrics"`
	Secure  bool    `json:"secure"`
}

// PredictPlain evaluates a plain model on rows (unscaled features, as in the data).
func PredictPlain(f *ModelFile, test *dataset.Dataset) (*Prediction, error) {
	spec, err := f.Config.Spec(test.Features())
	if err != nil {
		return nil, err
	}
	if in := f.Layers[0].In; in != test.Features() {
		return nil, fmt.Errorf("the model takes %d features, the data has %d", in, test.Features())
	}
	x := test.X
	if f.Scaler != nil {
		x = f.Scaler.Apply(x)
	}
	var m Metrics
	evaluate(spec, nn.Predict(spec, f.Params(), denseOf(x, spec.Inputs)), test, &m)
	return &Prediction{Rows: test.Rows(), Metrics: m}, nil
}

// PredictShared evaluates a secret-shared model by secure inference: every party
// loads its own share file, the rows (public evaluation data) enter as public
// values, and only the predictions are opened.
func PredictShared(ctx context.Context, shares []*ModelFile, test *dataset.Dataset) (*Prediction, error) {
	n := len(shares)
	if n < 2 {
		return nil, fmt.Errorf("a shared model needs every party's share file, got %d", n)
	}
	cfg := shares[0].Config
	if shares[0].Shares.Parties != n {
		return nil, fmt.Errorf("the model was shared among %d parties, got %d share files", shares[0].Shares.Parties, n)
	}
	seen := make([]bool, n)
	for _, s := range shares {
		p := s.Shares.Party
		if p < 0 || p >= n || seen[p] {
			return nil, fmt.Errorf("share files do not hold parties 0..%d exactly once", n-1)
		}
		seen[p] = true
	}
	spec, err := cfg.Spec(test.Features())
	if err != nil {
		return nil, err
	}
	x := test.X
	if shares[0].Scaler != nil {
		x = shares[0].Scaler.Apply(x)
	}
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		return nil, err
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		return nil, err
	}
	byParty := make([]*ModelFile, n)
	for _, s := range shares {
		byParty[s.Shares.Party] = s
	}
	preds := make([]*mat.Dense, n)
	err = runParties(ctx, n, func(i int) { ts[i].Close() }, func(ctx context.Context, i int) error {
		engine := protocol.Config{Codec: sharing.Codec{FracBits: byParty[i].Shares.Precision}, Opening: cfg.Opening}
		nd, err := buildNode(ctx, nodeSpec{cfg: cfg, self: i, links: links{online: ts[i]}, material: material{dealer: dealer}, engine: engine})
		if err != nil {
			return err
		}
		e := nd.engine
		net, err := nn.SecureFromShares(e, spec, byParty[i].Shares.W, byParty[i].Shares.B)
		if err != nil {
			return err
		}
		preds[i], err = securePredict(ctx, e, net, x)
		return err
	})
	if err != nil {
		return nil, err
	}
	var m Metrics
	evaluate(spec, preds[0], test, &m)
	return &Prediction{Rows: test.Rows(), Metrics: m, Secure: true}, nil
}

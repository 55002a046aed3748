package run

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
	"gonum.org/v1/gonum/mat"
)

// Prediction is the outcome of evaluating a saved model on a dataset.
type Prediction struct {
	Rows    int           `json:"rows"`
	Metrics train.Metrics `json:"metrics"`
	Secure  bool          `json:"secure"`
}

// PredictPlain evaluates a plain model on rows (unscaled features, as in the data).
func PredictPlain(f *report.ModelFile, test *dataset.Dataset) (*Prediction, error) {
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
	var m train.Metrics
	train.Evaluate(spec, nn.Predict(spec, f.Params(), experiment.DenseOf(x, spec.Inputs)), test, &m)
	return &Prediction{Rows: test.Rows(), Metrics: m}, nil
}

// PredictShared evaluates a secret-shared model by secure inference: every party
// loads its own share file, the rows (public evaluation data) enter as public
// values, and only the predictions are opened.
func PredictShared(ctx context.Context, shares []*report.ModelFile, test *dataset.Dataset) (*Prediction, error) {
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
	byParty := make([]*report.ModelFile, n)
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
		preds[i], err = train.SecurePredict(ctx, e, net, x)
		return err
	})
	if err != nil {
		return nil, err
	}
	var m train.Metrics
	train.Evaluate(spec, preds[0], test, &m)
	return &Prediction{Rows: test.Rows(), Metrics: m, Secure: true}, nil
}

package run

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

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
	if shapes, err := spec.ParamShapes(); err != nil || len(shapes) == 0 || shapes[0][0] != f.Layers[0].In {
		return nil, fmt.Errorf("the model's first layer takes %d inputs, the data has %d features", f.Layers[0].In, test.Features())
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
		engine := protocol.Config{Codec: sharing.Codec{FracBits: byParty[i].Shares.Precision}, Opening: cfg.EngineOpening()}
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

// PredictDeployed evaluates a shared model as a deployment: every party runs its
// own node with only its own share file, over libp2p like `node run` (with the
// dealer's node when the experiment uses one), on the experiment's public test
// rows. As in training with a shared model, only totals are opened (the test
// squared error, the number of rows classified right): predictions on public rows
// would reveal the model.
func PredictDeployed(ctx context.Context, nc *NodeConfig, share *report.ModelFile, opts NodeOptions) (*Prediction, error) {
	cfg, err := nc.loadExperiment(opts)
	if err != nil {
		return nil, err
	}
	self := nc.Party
	if err := checkOwnShare(cfg, share, self); err != nil {
		return nil, err
	}
	_, test, err := nc.loadOwnData(cfg, self)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	if test == nil || test.Rows() == 0 {
		return nil, fmt.Errorf("party %d: the experiment has no test rows to predict", self)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return withPeers(ctx, nc, cfg, opts, log, func(tr *network.Libp2pTransport) (*Prediction, error) {
		return predictWithPeers(ctx, cfg, self, tr, share, test, opts)
	})
}

// checkOwnShare checks that a share file is this party's share of a model
// trained under this experiment.
func checkOwnShare(cfg *experiment.Config, share *report.ModelFile, self int) error {
	switch {
	case share.Shares == nil:
		return errors.New("the model file holds a plain model: evaluate it with `node predict --model FILE` alone")
	case share.Shares.Party != self || share.Shares.Parties != cfg.Parties:
		return fmt.Errorf("the share file is party %d's of %d, this node is party %d of %d", share.Shares.Party, share.Shares.Parties, self, cfg.Parties)
	case share.Config.Hash() != cfg.Hash():
		return errors.New("the share file was trained under another experiment config than this node's")
	}
	return nil
}

// predictWithPeers agrees on the experiment with the peers, builds the node and
// runs the secure evaluation.
func predictWithPeers(ctx context.Context, cfg *experiment.Config, self int, tr *network.Libp2pTransport, share *report.ModelFile, test *dataset.Dataset, opts NodeOptions) (*Prediction, error) {
	dealerFree := cfg.Preprocessing == experiment.PrepHE
	l, closeLinks, err := nodeLinks(tr, dealerFree)
	if err != nil {
		return nil, err
	}
	defer closeLinks()
	e, err := publicEngine(l.online, cfg)
	if err != nil {
		return nil, err
	}
	if err := checkSameExperiment(ctx, e, cfg, test); err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	nd, err := buildNode(ctx, nodeSpec{cfg: cfg, self: self, links: l,
		material: material{remote: !dealerFree, parties: cfg.Parties, rnd: opts.Randomness}, engine: engineConfig(cfg, opts.Randomness, self)})
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	defer nd.stop()
	spec, err := cfg.Spec(test.Features())
	if err != nil {
		return nil, err
	}
	net, err := nn.SecureFromShares(nd.engine, spec, share.Shares.W, share.Shares.B)
	if err != nil {
		return nil, err
	}
	x := test.X
	if share.Scaler != nil {
		x = share.Scaler.Apply(x)
	}
	var m train.Metrics
	if _, err := train.SharedTestMetrics(ctx, nd.engine, net, x, test, &m); err != nil {
		return nil, fmt.Errorf("party %d: secure evaluation: %w", self, err)
	}
	if err := nd.end(ctx); err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	return &Prediction{Rows: test.Rows(), Metrics: m, Secure: true}, nil
}

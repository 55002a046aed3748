package party

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"gopkg.in/yaml.v3"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/protocol"
)

// NodeConfig is one node of a deployment: who it is, where it listens, who its
// peers are, which experiment it runs and which data is its own. Relative paths are
// relative to the file.
type NodeConfig struct {
	// Role is "party" (default) or "dealer" (the trusted dealer's node, with
	// preprocessing: dealer).
	Role Role `yaml:"role"`
	// Party is this node's index (parties only).
	Party int `yaml:"party"`
	// Identity is the node key file written by `node init`.
	Identity string `yaml:"identity"`
	// Listen lists multiaddrs to listen on.
	Listen []string `yaml:"listen"`
	// Parties lists every party, this one included, by index.
	Parties []PeerConfig `yaml:"parties"`
	// Dealer is the dealer's node (preprocessing: dealer).
	Dealer *PeerConfig `yaml:"dealer"`
	// Experiment is the experiment config every node must share.
	Experiment string `yaml:"experiment"`
	// Data is this party's own data.
	Data NodeData `yaml:"data"`
	// Timeout bounds every message; a peer silent for longer is declared failed.
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds finding and admitting the peers at start.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Results is where this party writes its results JSON.
	Results string `yaml:"results"`
	// ModelDir is where this party writes the model or its share of it.
	ModelDir string `yaml:"model_dir"`

	dir string
}

// PeerConfig locates one node.
type PeerConfig struct {
	Party int      `yaml:"party"`
	ID    string   `yaml:"id"`
	Addrs []string `yaml:"addrs"`
}

// NodeData says which rows (or columns) are this party's.
type NodeData struct {
	// Slice: this party's slice of the experiment's shipped dataset, cut as the
	// experiment's partition says (the process reads the dataset file and keeps only
	// its slice and the public test rows).
	Slice bool `yaml:"slice"`
	// CSV: this party's own rows in a CSV file with a header (horizontal partition).
	CSV string `yaml:"csv"`
	// Target names the CSV's label column.
	Target string `yaml:"target"`
	// TestCSV: rows to evaluate the model on (optional; same columns).
	TestCSV string `yaml:"test_csv"`
}

// LoadNodeConfig reads a node config strictly.
func LoadNodeConfig(path string) (*NodeConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c NodeConfig
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("node config %s: empty", path)
		}
		return nil, fmt.Errorf("node config %s: %w", path, err)
	}
	c.dir = filepath.Dir(path)
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("node config %s: %w", path, err)
	}
	return &c, nil
}

func (c *NodeConfig) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

func (c *NodeConfig) validate() error {
	if c.Role == "" {
		c.Role = RoleParty
	}
	if c.Timeout == 0 {
		c.Timeout = 60 * time.Second
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 2 * time.Minute
	}
	if err := oneOf("role", c.Role, roles); err != nil {
		return err
	}
	switch {
	case c.Identity == "":
		return errors.New("identity: missing (make one with `node init`)")
	case c.Experiment == "":
		return errors.New("experiment: missing")
	case len(c.Parties) < 2:
		return fmt.Errorf("parties: need at least 2, got %d", len(c.Parties))
	case c.Timeout < 0 || c.ConnectTimeout < 0:
		return errors.New("timeout: must be positive")
	}
	for i, p := range c.Parties {
		if p.Party != i {
			return fmt.Errorf("parties[%d].party: is %d, want %d (list parties in index order)", i, p.Party, i)
		}
	}
	if c.Role == RoleParty {
		if c.Party < 0 || c.Party >= len(c.Parties) {
			return fmt.Errorf("party: %d is not an index of parties", c.Party)
		}
		if c.Data.Slice == (c.Data.CSV != "") {
			return errors.New("data: give either slice: true or csv: FILE")
		}
		if c.Data.CSV != "" && c.Data.Target == "" {
			return errors.New("data.target: name the label column of data.csv")
		}
	}
	return nil
}

func parsePeer(what string, p PeerConfig, index int) (network.PeerInfo, error) {
	id, err := peer.Decode(p.ID)
	if err != nil {
		return network.PeerInfo{}, fmt.Errorf("%s: id %q: %w", what, p.ID, err)
	}
	info := network.PeerInfo{Index: index, ID: id}
	for _, a := range p.Addrs {
		addr, err := ma.NewMultiaddr(a)
		if err != nil {
			return network.PeerInfo{}, fmt.Errorf("%s: address %q: %w", what, a, err)
		}
		info.Addrs = append(info.Addrs, addr)
	}
	return info, nil
}

// connect starts this node's libp2p transport: parties 0..N-1, then the dealer
// (if the experiment uses one) as member N.
func (c *NodeConfig) connect(ctx context.Context, cfg *Config, self int, log *slog.Logger) (*network.Libp2pTransport, error) {
	key, err := network.LoadIdentity(c.path(c.Identity))
	if err != nil {
		return nil, err
	}
	if len(c.Parties) != cfg.Parties {
		return nil, fmt.Errorf("parties: %d listed, the experiment has %d", len(c.Parties), cfg.Parties)
	}
	var peers []network.PeerInfo
	for i, p := range c.Parties {
		info, err := parsePeer(fmt.Sprintf("parties[%d]", i), p, i)
		if err != nil {
			return nil, err
		}
		peers = append(peers, info)
	}
	if cfg.Preprocessing == PrepDealer {
		if c.Dealer == nil {
			return nil, errors.New("dealer: the experiment uses a dealer; give its id and addrs")
		}
		info, err := parsePeer("dealer", *c.Dealer, len(peers))
		if err != nil {
			return nil, err
		}
		peers = append(peers, info)
	}
	// The transport's handshake compares a digest of the experiment's name and size;
	// the full configs are compared field by field right after, before any share
	// moves, so that a mismatch can say what differs.
	session := sha256.Sum256(fmt.Appendf(nil, "tessera-session/%s/%d/%s", cfg.Name, cfg.Parties, cfg.Preprocessing))
	hash := cfg.Hash()
	log.Info("connecting", "self", self, "peers", len(peers)-1, "experiment_hash", fmt.Sprintf("%x", hash[:8]))
	t, err := network.NewLibp2p(ctx, network.Libp2pConfig{
		Self: self, Key: key, ListenAddrs: c.Listen, Peers: peers, Session: session[:], ProtocolVersion: ProtocolVersion,
		MessageTimeout: c.Timeout, HandshakeTimeout: c.ConnectTimeout,
	})
	if err != nil {
		return nil, err
	}
	log.Info("all peers admitted")
	return t, nil
}

// RunOptions tune a deployed node.
type RunOptions struct {
	Progress   io.Writer
	Bar        bool
	Log        *slog.Logger
	Randomness Randomness
	// Preprocessing, when set, overrides the experiment's (every node must agree).
	Preprocessing Preprocessing
}

// experiment loads the node's experiment config with the options' overrides.
func (nc *NodeConfig) experiment(opts RunOptions) (*Config, error) {
	cfg, err := LoadConfig(nc.path(nc.Experiment))
	if err != nil {
		return nil, err
	}
	if opts.Preprocessing != "" {
		cfg.Preprocessing = opts.Preprocessing
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("preprocessing override: %w", err)
		}
	}
	return cfg, nil
}

// RunParty is one party's whole life in a deployment: connect and handshake, share
// the layout, fetch preprocessing from the dealer, train, write results. On any
// failure it tells the peers why before returning, so that they stop too.
func RunParty(ctx context.Context, nc *NodeConfig, opts RunOptions) (*Results, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	cfg, err := nc.experiment(opts)
	if err != nil {
		return nil, err
	}
	self := nc.Party
	own, test, err := nc.loadOwnData(cfg, self)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	tr, err := nc.connect(ctx, cfg, self, log)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	res, err := deployedParty{cfg: cfg, nc: nc, tr: tr, own: own, test: test, opts: opts, progress: progress, log: log}.run(ctx)
	if err != nil {
		leave(tr, err)
		return nil, err
	}
	if err := tr.Close(); err != nil {
		log.Warn("closing the transport", "err", err)
	}
	return res, nil
}

// leave ends a failed node's session. If the failure is its own, it tells the peers
// which party failed and where; if it only echoes another party's abort, the peers
// have heard that party already, and a second abort would hide the root cause.
func leave(tr *network.Libp2pTransport, err error) {
	var abort *network.PeerAbortError
	if errors.As(err, &abort) {
		tr.Close()
		return
	}
	var private *PrivateError
	if errors.As(err, &private) {
		tr.Abort(private.Public) // the details stay with this party's operator
		return
	}
	tr.Abort(firstLine(err.Error()))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// deployedParty is one party of a deployment, connected to its peers.
type deployedParty struct {
	cfg       *Config
	nc        *NodeConfig
	tr        *network.Libp2pTransport
	own, test *dataset.Dataset
	opts      RunOptions
	progress  io.Writer
	log       *slog.Logger
}

// run checks the experiment and exchanges the layout with the peers (before any
// preprocessing: nothing, not even key material, is exchanged before the parties
// agree on the experiment), builds the node, trains and writes the results.
func (p deployedParty) run(ctx context.Context) (*Results, error) {
	cfg, self := p.cfg, p.nc.Party
	l := links{online: p.tr}
	dealerFree := cfg.Preprocessing == PrepHE
	if dealerFree {
		ls, closeMuxes, err := muxedLinks([]transport{p.tr})
		if err != nil {
			return nil, err
		}
		defer closeMuxes()
		l = ls[0]
	}
	lay, err := handshake(ctx, l.online, cfg, p.own)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	spec := nodeSpec{cfg: cfg, self: self, links: l, material: material{remote: !dealerFree, parties: cfg.Parties, rnd: p.opts.Randomness}, engine: engineConfig(cfg, p.opts.Randomness, self)}
	if dealerFree && cfg.PreprocessingMode != PrepOnDemand {
		spec.plan = func(ctx context.Context) (*protocol.Plan, error) {
			return RecordPlan(ctx, cfg, lay, p.own.Task, p.own.Classes, p.test)
		}
	}
	nd, err := buildNode(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	defer nd.stop()
	if dealerFree {
		fmt.Fprintf(p.progress, "party %d: dealer-free preprocessing set up in %.2fs\n", self, nd.setup.Seconds())
	}
	if nd.offline > 0 {
		fmt.Fprintf(p.progress, "party %d: offline phase made %d requests' material in %.2fs\n", self, nd.planLen, nd.offline.Seconds())
	}
	fmt.Fprintf(p.progress, "party %d of %d: %s, %s partition %s, %d fractional bits\n", self, cfg.Parties, cfg.Name, cfg.Dataset.Partition, partSizes(lay), cfg.Precision)
	table := newEpochTable(p.progress, p.own.Task == dataset.Classification, false)
	hooks := Hooks{Epoch: func(r EpochReport) {
		table.row(r, EpochReport{Epoch: r.Epoch})
		p.log.Info("epoch done", "epoch", r.Epoch, "seconds", r.Elapsed.Seconds())
	}}
	if p.opts.Bar {
		hooks.Step = table.bar
	}
	start := time.Now()
	sr, err := TrainSecure(ctx, cfg, nd.engine, Local{Own: p.own, Layout: lay, Test: p.test}, hooks)
	if err != nil {
		return nil, err
	}
	if err := nd.end(ctx); err != nil {
		return nil, fmt.Errorf("party %d: %w", self, err)
	}
	res := &Results{Config: cfg, Mode: "run", Transport: string(TransportLibp2p), Layout: lay, Versions: Versions()}
	for _, r := range sr.Epochs {
		res.Epochs = append(res.Epochs, EpochResult{Epoch: r.Epoch, Steps: r.Steps, Secure: r.Metrics, SecureSec: r.Elapsed.Seconds()})
	}
	res.Final.Secure = res.Epochs[len(res.Epochs)-1].Secure
	res.Cost = Cost{WallSeconds: time.Since(start).Seconds(), Parties: []PartyCost{nd.cost(sr.Scopes)}}
	PrintCosts(p.progress, res)
	return res, p.write(sr, res)
}

// write saves the model (or this party's share of it) and the results, where the
// node config says.
func (p deployedParty) write(sr *SecureResult, res *Results) error {
	if p.nc.ModelDir != "" {
		results := make([]*SecureResult, p.cfg.Parties)
		results[p.nc.Party] = sr
		files, err := SaveModels(p.nc.path(p.nc.ModelDir), p.cfg, results)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(p.progress, "model written to %s\n", f)
		}
	}
	if p.nc.Results != "" {
		if err := WriteJSON(p.nc.path(p.nc.Results), res); err != nil {
			return err
		}
		fmt.Fprintf(p.progress, "results written to %s\n", p.nc.path(p.nc.Results))
	}
	return nil
}

// handshake checks that every party runs the same experiment and exchanges the
// layout, on a public-only engine: the node's engine does not exist yet.
func handshake(ctx context.Context, tr protocol.Transport, cfg *Config, own *dataset.Dataset) (Layout, error) {
	e, err := publicEngine(tr, cfg)
	if err != nil {
		return Layout{}, err
	}
	if err := checkSameExperiment(ctx, e, cfg); err != nil {
		return Layout{}, err
	}
	return exchangeLayout(ctx, e, cfg, own)
}

// loadOwnData reads this party's data only.
func (nc *NodeConfig) loadOwnData(cfg *Config, self int) (own, test *dataset.Dataset, err error) {
	if nc.Data.Slice {
		split, err := LoadSplit(cfg)
		if err != nil {
			return nil, nil, err
		}
		return split.Parts[self], split.Test, nil
	}
	if cfg.Dataset.Partition != PartitionContiguous {
		return nil, nil, errors.New("data.csv: a party's CSV holds whole rows; vertical partitions need data.slice")
	}
	task, classes := dataset.Regression, 0
	if cfg.Model.Loss == nn.LossCrossEntropy {
		task, classes = dataset.Classification, cfg.Model.Layers[len(cfg.Model.Layers)-1].Units
	}
	opts := dataset.CSVOptions{Target: nc.Data.Target, Task: task, Classes: classes}
	if own, err = dataset.LoadCSV(nc.path(nc.Data.CSV), opts); err != nil {
		return nil, nil, err
	}
	if nc.Data.TestCSV != "" {
		if test, err = dataset.LoadCSV(nc.path(nc.Data.TestCSV), opts); err != nil {
			return nil, nil, err
		}
	}
	return own, test, nil
}

// ProtocolVersion is what deployed nodes compare in their handshake.
const ProtocolVersion = "tessera/1"

// maxConfigBytes bounds the experiment config a peer may send.
const maxConfigBytes = 1 << 16

// checkSameExperiment compares the parties' experiment configs field by field, so
// that a mismatch says what differs, before any share moves.
func checkSameExperiment(ctx context.Context, e *protocol.Engine, cfg *Config) error {
	ours := cfg.Canonical()
	all, err := e.ExchangeBlobs(ctx, ours, maxConfigBytes)
	if err != nil {
		return fmt.Errorf("exchanging experiment configs: %w", err)
	}
	for p, theirs := range all {
		if p == e.Self() {
			continue
		}
		diffs, err := DiffConfigs(ours, theirs)
		if err != nil {
			return fmt.Errorf("party %d's experiment config: %w", p, err)
		}
		if len(diffs) > 0 {
			return fmt.Errorf("party %d runs a different experiment: %s", p, strings.Join(diffs, "; "))
		}
	}
	return nil
}

// Bounds on what a peer may declare it holds, so that a bad peer cannot make the
// others allocate without limit.
const (
	maxRows     = 1 << 26
	maxFeatures = 1 << 20
)

// exchangeLayout tells every party how many rows and columns each holds: public
// metadata every party needs to share its data and split batches.
func exchangeLayout(ctx context.Context, e *protocol.Engine, cfg *Config, own *dataset.Dataset) (Layout, error) {
	all, err := e.ExchangePublic(ctx, []uint64{uint64(own.Rows()), uint64(own.Features())})
	if err != nil {
		return Layout{}, fmt.Errorf("exchanging row counts: %w", err)
	}
	for p, w := range all {
		if w[0] == 0 || w[0] > maxRows || w[1] == 0 || w[1] > maxFeatures {
			return Layout{}, fmt.Errorf("party %d declares %d rows of %d columns (allowed: 1 to %d rows, 1 to %d columns)", p, w[0], w[1], maxRows, maxFeatures)
		}
	}
	if cfg.Dataset.Partition == PartitionVertical {
		lay := Layout{Vertical: true, Rows: own.Rows(), LabelHolder: cfg.Dataset.LabelHolder}
		for p, w := range all {
			if int(w[0]) != own.Rows() {
				return Layout{}, fmt.Errorf("vertical partition: party %d holds %d rows, this party %d", p, w[0], own.Rows())
			}
			lay.ColsPerParty = append(lay.ColsPerParty, int(w[1]))
			lay.Features += int(w[1])
		}
		return lay, nil
	}
	lay := Layout{Features: own.Features()}
	for p, w := range all {
		if int(w[1]) != own.Features() {
			return Layout{}, fmt.Errorf("party %d's rows have %d features, this party's %d", p, w[1], own.Features())
		}
		lay.RowsPerParty = append(lay.RowsPerParty, int(w[0]))
		lay.Rows += int(w[0])
	}
	return lay, nil
}

// RunDealer is the dealer node's life: connect to the parties, send seeds, answer
// the last party's requests until it ends the session.
func RunDealer(ctx context.Context, nc *NodeConfig, opts RunOptions) error {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := nc.experiment(opts)
	if err != nil {
		return err
	}
	if cfg.Preprocessing != PrepDealer {
		return fmt.Errorf("the experiment's preprocessing is %q: it needs no dealer", cfg.Preprocessing)
	}
	tr, err := nc.connect(ctx, cfg, cfg.Parties, log)
	if err != nil {
		return fmt.Errorf("dealer: %w", err)
	}
	d, err := protocol.NewDealer(cfg.Parties, opts.Randomness.Dealer())
	if err != nil {
		return err
	}
	if err := protocol.ServeDealer(ctx, tr, d); err != nil {
		leave(tr, err)
		return err
	}
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "dealer: session of %s done, sent %s\n", cfg.Name, humanBytes(d.BytesSent()))
	}
	return tr.Close()
}

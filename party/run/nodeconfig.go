package run

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
	"time"

	ma "github.com/multiformats/go-multiaddr"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"gopkg.in/yaml.v3"
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
	// Timeout is the liveness bound: a peer from which nothing (not even a
	// heartbeat, sent while idle) arrives for this long is declared failed. A busy
	// peer is never timed out.
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds finding and admitting the peers at start.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// Results is where this party writes its results JSON.
	Results string `yaml:"results"`
	// ModelDir is where this party writes the model or its share of it.
	ModelDir string `yaml:"model_dir"`
	// CheckpointDir is where this party saves its training state (the experiment's
	// training.checkpoint_every says how often) and reads it back with --resume.
	CheckpointDir string `yaml:"checkpoint_dir"`
	// RejoinTimeout is how long a node waits for a lost peer (crashed, killed,
	// cut off) to come back, restarted with --resume, before it exits naming it
	// (default DefaultRejoinTimeout; negative: never wait). A party waits only
	// once it holds a checkpoint to roll back to.
	RejoinTimeout time.Duration `yaml:"rejoin_timeout"`

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
	// Slice: this party's part of the experiment's data: its slice of a shipped
	// dataset or of a single CSV file, cut as the experiment's partition says (the
	// process keeps only its slice and the public test rows), or its own file of a
	// CSV experiment with one file per party.
	Slice bool `yaml:"slice"`
	// CSV: this party's own rows in a CSV file with a header (horizontal partition).
	CSV string `yaml:"csv"`
	// Target names the CSV's label column (for a shipped-dataset experiment; a CSV
	// experiment's schema names it).
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
	if c.RejoinTimeout == 0 {
		c.RejoinTimeout = DefaultRejoinTimeout
	}
	if err := experiment.OneOf("role", c.Role, []Role{RoleParty, RoleDealer}); err != nil {
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
func (c *NodeConfig) connect(ctx context.Context, cfg *experiment.Config, self int, rnd Randomness, log *slog.Logger) (*network.Libp2pTransport, error) {
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
	if cfg.Preprocessing == experiment.PrepDealer {
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
		Self: self, Key: key, ListenAddrs: c.Listen, Peers: peers, Session: session[:], ProtocolVersion: rnd.protocolVersion(),
		MessageTimeout: c.Timeout, HandshakeTimeout: c.ConnectTimeout,
	})
	if err != nil {
		return nil, err
	}
	log.Info("all peers admitted")
	return t, nil
}

// loadExperiment loads the node's experiment config with the options' overrides.
func (nc *NodeConfig) loadExperiment(opts NodeOptions) (*experiment.Config, error) {
	cfg, err := experiment.LoadConfig(nc.path(nc.Experiment))
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

// loadOwnData reads this party's data only.
func (nc *NodeConfig) loadOwnData(cfg *experiment.Config, self int) (own, test *dataset.Dataset, err error) {
	if cfg.Dataset.CSV != nil {
		return nc.loadOwnCSV(cfg, self)
	}
	if nc.Data.CSV != "" && nc.Data.Target == "" {
		return nil, nil, errors.New("data.target: name the label column of data.csv")
	}
	if nc.Data.Slice {
		return experiment.LoadOwnPart(cfg, self)
	}
	if cfg.Dataset.Partition != experiment.PartitionContiguous {
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

// loadOwnCSV reads this party's rows of a CSV experiment with the experiment's
// schema: its file (or slice) as the experiment names it, or data.csv and
// data.test_csv of the node config, which override the experiment's paths.
func (nc *NodeConfig) loadOwnCSV(cfg *experiment.Config, self int) (own, test *dataset.Dataset, err error) {
	schema := cfg.Dataset.CSV
	if nc.Data.Slice {
		return experiment.LoadOwnCSV(cfg, self)
	}
	if nc.Data.Target != "" && nc.Data.Target != schema.Target {
		return nil, nil, fmt.Errorf("data.target: %q, but the experiment's target column is %q", nc.Data.Target, schema.Target)
	}
	if cfg.Dataset.Partition == experiment.PartitionVertical {
		return nil, nil, errors.New("data.csv: a party's CSV holds whole rows; vertical partitions need data.slice")
	}
	if own, err = cfg.LoadCSVFile(nc.path(nc.Data.CSV), nil); err != nil {
		return nil, nil, err
	}
	if nc.Data.TestCSV != "" {
		test, err = cfg.LoadCSVFile(nc.path(nc.Data.TestCSV), nil)
		return own, test, err
	}
	test, err = cfg.LoadCSVTest(own)
	return own, test, err
}

// Role is what a deployed node does.
type Role string

// The roles.
const (
	RoleParty  Role = "party"
	RoleDealer Role = "dealer"
)

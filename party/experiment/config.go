package experiment

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
	"gopkg.in/yaml.v3"
)

// Config is an experiment: the data, the model, the training and the MPC settings.
// Every party of a run must hold the same Config (a deployment checks its hash).
type Config struct {
	Name          string        `yaml:"name" json:"name"`
	Parties       int           `yaml:"parties" json:"parties"`
	Seed          uint64        `yaml:"seed" json:"seed"`
	Precision     int           `yaml:"precision" json:"precision"`
	Preprocessing Preprocessing `yaml:"preprocessing" json:"preprocessing"`
	// PreprocessingMode, for dealer-free preprocessing and for the last party of
	// a deployment with a dealer's node (which asks the dealer for the material):
	// "pipelined" (default: made or asked for ahead of the online phase, a bounded
	// number of requests ahead), "offline-first" (all made before training,
	// reported apart) or "on-demand".
	PreprocessingMode PrepMode `yaml:"preprocessing_mode,omitempty" json:"preprocessing_mode,omitempty"`
	// Opening is how shared values are opened: "all-to-all" (one hop), "king"
	// (through a rotating party: two hops, fewer bytes in all) or "auto" (the
	// default, also when left out: picked for the party count and the network,
	// ChooseOpening).
	Opening  protocol.Opening `yaml:"opening,omitempty" json:"opening,omitempty"`
	Dataset  DatasetConfig    `yaml:"dataset" json:"dataset"`
	Model    ModelConfig      `yaml:"model" json:"model"`
	Training TrainConfig      `yaml:"training" json:"training"`
	Output   OutputConfig     `yaml:"output" json:"output"`

	// OpeningChosen is what a run of opening auto picked: in its results, never
	// read from a config nor compared between parties (each picks the same).
	OpeningChosen protocol.Opening `yaml:"-" json:"opening_chosen,omitempty"`
}

// DatasetConfig says which data the parties hold and how it is prepared.
type DatasetConfig struct {
	// Name of a shipped dataset: diabetes, cancer, iris, wine, mnist. Leave it out
	// for your own data (CSV).
	Name string `yaml:"name" json:"name"`
	// CSV is the parties' own tabular data, instead of a shipped dataset.
	CSV *CSVData `yaml:"csv,omitempty" json:"csv,omitempty"`
	// Dir overrides where the dataset files are read from.
	Dir string `yaml:"dir,omitempty" json:"dir,omitempty"`
	// TestRows: for the scikit-learn sets, rows taken from the end and held out for
	// testing; for mnist, how many rows of the official test set to use (0: all).
	TestRows int `yaml:"test_rows" json:"test_rows"`
	// TrainRows limits the training rows (first rows of the set); 0 means all.
	TrainRows int `yaml:"train_rows,omitempty" json:"train_rows,omitempty"`
	// ShuffleRows permutes the rows (with the public seed) before the test rows are
	// held out and the rest partitioned: for files sorted by class (iris, wine).
	ShuffleRows bool `yaml:"shuffle_rows,omitempty" json:"shuffle_rows,omitempty"`
	// Partition: "contiguous" (horizontal: party i holds the i-th contiguous slice of
	// the rows, as hospitals hold their own patients), "random" (horizontal, rows
	// dealt by a permutation from the public seed) or "vertical" (party i holds the
	// i-th contiguous block of feature columns of every row, aligned by row index).
	Partition Partition `yaml:"partition" json:"partition"`
	// LabelHolder is the party that holds the labels in vertical mode.
	LabelHolder int `yaml:"label_holder,omitempty" json:"label_holder,omitempty"`
	// Scaling is "standardize" (mean and std per feature from a secure sum of the
	// parties' column sums; only the global statistics are revealed) or "none".
	Scaling Scaling `yaml:"scaling" json:"scaling"`
}

// ModelConfig is the network: layers with their activations, and the loss.
type ModelConfig struct {
	Layers []LayerConfig `yaml:"layers" json:"layers"`
	// Loss is "mse" (default) or "cross-entropy" (softmax over the outputs).
	Loss string `yaml:"loss,omitempty" json:"loss,omitempty"`
	// Init is "xavier" or "he"; empty: he for relu layers, xavier otherwise.
	Init string `yaml:"init,omitempty" json:"init,omitempty"`
}

// LayerConfig is one layer: its type (dense by default), its sizes and the
// activation that follows it. Convolution and pooling layers need image inputs
// (MNIST, or dataset.csv.shape).
type LayerConfig struct {
	// Type is dense (default), conv2d, maxpool, avgpool, flatten or activation.
	Type       string `yaml:"type,omitempty" json:"type,omitempty"`
	Units      int    `yaml:"units" json:"units"` // dense
	Activation string `yaml:"activation" json:"activation"`
	// conv2d: output maps, square kernel size, stride (default 1), zero padding.
	Maps    int `yaml:"maps,omitempty" json:"maps,omitempty"`
	Kernel  int `yaml:"kernel,omitempty" json:"kernel,omitempty"`
	Stride  int `yaml:"stride,omitempty" json:"stride,omitempty"`
	Padding int `yaml:"padding,omitempty" json:"padding,omitempty"`
	// maxpool, avgpool: window size and stride.
	Size int `yaml:"size,omitempty" json:"size,omitempty"`
}

// dense reports whether the layer is a dense layer.
func (l LayerConfig) dense() bool { return l.Type == "" || l.Type == nn.LayerDense }

// spatial reports whether the layer needs image inputs.
func (l LayerConfig) spatial() bool {
	return l.Type == nn.LayerConv || l.Type == nn.LayerMaxPool || l.Type == nn.LayerAvgPool
}

// TrainConfig is mini-batch SGD with momentum and a step learning-rate schedule.
type TrainConfig struct {
	Epochs       int     `yaml:"epochs" json:"epochs"`
	BatchSize    int     `yaml:"batch_size" json:"batch_size"`
	LearningRate float64 `yaml:"learning_rate" json:"learning_rate"`
	Momentum     float64 `yaml:"momentum,omitempty" json:"momentum,omitempty"`
	// LRDecay multiplies the learning rate every LRDecayEvery epochs.
	LRDecay      float64 `yaml:"lr_decay,omitempty" json:"lr_decay,omitempty"`
	LRDecayEvery int     `yaml:"lr_decay_every,omitempty" json:"lr_decay_every,omitempty"`
	// Shuffle draws each epoch's batch order from the public seed.
	Shuffle bool `yaml:"shuffle" json:"shuffle"`
	// MaxSteps stops training after this many steps in all (0: no limit); for
	// short runs such as CI checks.
	MaxSteps int `yaml:"max_steps,omitempty" json:"max_steps,omitempty"`
	// CheckpointEvery: parties with a checkpoint directory save their state every
	// this many steps, and at the end of every epoch (0: at epochs' ends only).
	CheckpointEvery int `yaml:"checkpoint_every,omitempty" json:"checkpoint_every,omitempty"`
}

// OutputConfig says who learns the trained model.
type OutputConfig struct {
	// Model is "reveal" (every party learns it, and it is revealed after every
	// epoch for monitoring), "reveal-to" (only Party learns it) or "shared" (it stays
	// secret-shared: each party keeps its share).
	Model OutputModel `yaml:"model,omitempty" json:"model,omitempty"`
	Party int         `yaml:"party,omitempty" json:"party,omitempty"`
}

// Defaults fills unset optional fields.
func (c *Config) Defaults() {
	c.csvDefaults()
	if c.Precision == 0 {
		c.Precision = sharing.DefaultFracBits
	}
	if c.Preprocessing == "" {
		c.Preprocessing = PrepDealer
	}
	if c.Dataset.Partition == "" {
		c.Dataset.Partition = PartitionContiguous
	}
	if c.Dataset.Scaling == "" {
		c.Dataset.Scaling = ScaleStandardize
	}
	if c.Model.Loss == "" {
		c.Model.Loss = nn.LossMSE
	}
	if c.Output.Model == "" {
		c.Output.Model = OutputReveal
	}
	if c.Training.LRDecay == 0 {
		c.Training.LRDecay = 1
	}
	if c.Training.LRDecayEvery == 0 {
		c.Training.LRDecayEvery = 1
	}
}

// LoadConfig reads a YAML config strictly: unknown fields are errors, with the
// line they are on.
func LoadConfig(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(raw)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.Dataset.CSV != nil && cfg.Dataset.Dir == "" {
		cfg.Dataset.Dir = filepath.Dir(path) // CSV paths are relative to the config
	}
	return cfg, nil
}

// ParseConfig parses and validates YAML.
func ParseConfig(raw []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c Config
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty config")
		}
		return nil, err
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// DatasetNames lists the datasets a config may name.
func DatasetNames() []string { return append(dataset.Names(), "mnist") }

// Validate checks every field and names the first bad one.
func (c *Config) Validate() error {
	for _, err := range []error{
		check(c.Parties >= 2, "parties: need at least 2 parties, got %d", c.Parties),
		check(c.Parties <= 64, "parties: at most 64 parties are supported, got %d", c.Parties),
		check(c.Precision >= sharing.MinFracBits && c.Precision <= sharing.MaxFracBits, "precision: %d fractional bits is out of range [%d, %d]", c.Precision, sharing.MinFracBits, sharing.MaxFracBits),
		optional("opening", c.Opening, openings),
		OneOf("preprocessing", c.Preprocessing, preprocessings),
		optional("preprocessing_mode", c.PreprocessingMode, prepModes),
		check(c.Dataset.Name != "" || c.Dataset.CSV != nil, "dataset.name: missing (known: %s; or describe your own data under dataset.csv)", strings.Join(DatasetNames(), ", ")),
		check(c.Dataset.Name == "" || slices.Contains(DatasetNames(), strings.ToLower(c.Dataset.Name)), "dataset.name: unknown dataset %q (known: %s)", c.Dataset.Name, strings.Join(DatasetNames(), ", ")),
		check(c.Dataset.TestRows >= 0, "dataset.test_rows: %d is negative", c.Dataset.TestRows),
		check(c.Dataset.TrainRows >= 0, "dataset.train_rows: %d is negative", c.Dataset.TrainRows),
		OneOf("dataset.partition", c.Dataset.Partition, partitions),
		check(c.Dataset.LabelHolder >= 0 && c.Dataset.LabelHolder < c.Parties, "dataset.label_holder: party %d does not exist", c.Dataset.LabelHolder),
		OneOf("dataset.scaling", c.Dataset.Scaling, scalings),
		check(len(c.Model.Layers) > 0, "model.layers: the model has no layers"),
		check(c.Training.Epochs >= 1, "training.epochs: need at least 1, got %d", c.Training.Epochs),
		check(c.Training.BatchSize >= 1, "training.batch_size: need at least 1, got %d", c.Training.BatchSize),
		check(c.Training.LearningRate > 0 && c.Training.LearningRate <= 100, "training.learning_rate: %v is not in (0, 100]", c.Training.LearningRate),
		check(c.Training.Momentum >= 0 && c.Training.Momentum < 1, "training.momentum: %v is not in [0, 1)", c.Training.Momentum),
		check(c.Training.LRDecay > 0 && c.Training.LRDecay <= 1, "training.lr_decay: %v is not in (0, 1]", c.Training.LRDecay),
		check(c.Training.LRDecayEvery >= 1, "training.lr_decay_every: need at least 1 epoch, got %d", c.Training.LRDecayEvery),
		check(c.Training.MaxSteps >= 0, "training.max_steps: %d is negative", c.Training.MaxSteps),
		check(c.Training.CheckpointEvery >= 0, "training.checkpoint_every: %d is negative", c.Training.CheckpointEvery),
		OneOf("output.model", c.Output.Model, outputModels),
		check(c.Output.Party >= 0 && c.Output.Party < c.Parties, "output.party: party %d does not exist", c.Output.Party),
	} {
		if err != nil {
			return err
		}
	}
	if c.Dataset.CSV != nil {
		if err := c.validateCSV(); err != nil {
			return err
		}
	}
	for i, l := range c.Model.Layers {
		if !slices.Contains(nn.LayerTypes, l.Type) && l.Type != "" {
			return fmt.Errorf("model.layers[%d].type: unknown layer type %q (known: %s)", i, l.Type, strings.Join(nn.LayerTypes, ", "))
		}
		if l.dense() && l.Units < 1 {
			return fmt.Errorf("model.layers[%d].units: need at least 1, got %d", i, l.Units)
		}
		if _, err := nn.ActivationByName(l.Activation); err != nil {
			return fmt.Errorf("model.layers[%d].activation: %w", i, err)
		}
	}
	if last := len(c.Model.Layers) - 1; !c.Model.Layers[last].dense() {
		return fmt.Errorf("model.layers[%d]: the output layer must be dense, got %s", last, c.Model.Layers[last].Type)
	}
	inputs := 1
	if shape, ok := c.ImageShape(); ok {
		inputs = shape.Size()
	}
	if _, err := c.Spec(inputs); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	return nil
}

// check is an error with the message when ok is false.
func check(ok bool, format string, args ...any) error {
	if ok {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// Spec builds the network for a given number of input features. A model with
// convolution or pooling layers takes the dataset's images (ImageShape).
func (c *Config) Spec(inputs int) (nn.Spec, error) {
	s := nn.Spec{Inputs: inputs, Loss: c.Model.Loss, Init: c.Model.Init}
	for _, l := range c.Model.Layers {
		a, err := nn.ActivationByName(l.Activation)
		if err != nil {
			return s, err
		}
		s.Layers = append(s.Layers, nn.Layer{Type: l.Type, Units: l.Units, Activation: a,
			Maps: l.Maps, Kernel: l.Kernel, Stride: l.Stride, Padding: l.Padding, Size: l.Size})
		if l.spatial() {
			shape, ok := c.ImageShape()
			if !ok {
				return s, fmt.Errorf("model: %s layers need images: use MNIST or declare dataset.csv.shape", l.Type)
			}
			s.Input = shape
		}
	}
	return s, s.Validate()
}

// ImageShape is the shape of the dataset's examples as images: MNIST's 1x28x28,
// or a CSV dataset's declared shape.
func (c *Config) ImageShape() (nn.Shape, bool) {
	switch {
	case strings.EqualFold(c.Dataset.Name, "mnist"):
		return nn.Shape{Channels: 1, Height: 28, Width: 28}, true
	case c.Dataset.CSV != nil && len(c.Dataset.CSV.Shape) == 3:
		d := c.Dataset.CSV.Shape
		return nn.Shape{Channels: d[0], Height: d[1], Width: d[2]}, true
	}
	return nn.Shape{}, false
}

// Optimizer is the SGD setting of an epoch, after the learning-rate schedule.
func (c *Config) Optimizer(epoch int) nn.Optimizer {
	lr := c.Training.LearningRate
	for e := c.Training.LRDecayEvery; e <= epoch; e += c.Training.LRDecayEvery {
		lr *= c.Training.LRDecay
	}
	return nn.Optimizer{LearningRate: lr, Momentum: c.Training.Momentum}
}

// Canonical is the JSON of everything the parties must agree on: the config
// without node-local settings (the dataset directory).
func (c *Config) Canonical() []byte {
	cc := *c
	cc.Dataset.Dir = ""
	cc.OpeningChosen = ""
	if d := c.Dataset.CSV; d != nil {
		// Paths are each node's own; the parties compare the schema and the shape.
		local := *d
		local.File, local.TestFile = localPath(d.File), localPath(d.TestFile)
		local.Files = make([]string, len(d.Files))
		for i, f := range d.Files {
			local.Files[i] = localPath(f)
		}
		cc.Dataset.CSV = &local
	}
	raw, _ := json.Marshal(cc) // a Config always marshals
	return raw
}

func localPath(p string) string {
	if p == "" {
		return ""
	}
	return "(node-local)"
}

// auto says whether the run picks its opening (auto, or none given). The
// default is not written into Opening: that would change every config's hash.
func (c *Config) auto() bool { return c.Opening == OpenAuto || c.Opening == "" }

// ChooseOpeningFor picks the opening of a run of opening auto over a network
// that delays messages (shaped) or not, and records it in OpeningChosen.
func (c *Config) ChooseOpeningFor(shaped bool) {
	if c.auto() {
		c.OpeningChosen = ChooseOpening(c.Parties, shaped)
	}
}

// EngineOpening is the opening pattern the engine uses: Opening, or for auto
// the one ChooseOpeningFor picked (all-to-all, the pick on any network, if no
// run has picked).
func (c *Config) EngineOpening() protocol.Opening {
	switch {
	case !c.auto():
		return c.Opening
	case c.OpeningChosen != "":
		return c.OpeningChosen
	}
	return protocol.OpenAllToAll
}

// Title names the data in messages: the shipped dataset's name, or the CSV file.
func (d DatasetConfig) Title() string {
	switch {
	case d.CSV == nil:
		return d.Name
	case d.CSV.File != "":
		return filepath.Base(d.CSV.File)
	}
	return "csv"
}

// Hash is a digest of Canonical.
func (c *Config) Hash() [32]byte { return sha256.Sum256(c.Canonical()) }

// DiffConfigs lists the fields in which two canonical configs differ, as
// "path: ours X, theirs Y".
func DiffConfigs(ours, theirs []byte) ([]string, error) {
	var a, b any
	if err := json.Unmarshal(ours, &a); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(theirs, &b); err != nil {
		return nil, fmt.Errorf("not a config: %w", err)
	}
	var diffs []string
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		xm, xok := x.(map[string]any)
		ym, yok := y.(map[string]any)
		if xok && yok {
			keys := map[string]bool{}
			for k := range xm {
				keys[k] = true
			}
			for k := range ym {
				keys[k] = true
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				sorted = append(sorted, k)
			}
			slices.Sort(sorted)
			for _, k := range sorted {
				p := printable(k)
				if path != "" {
					p = path + "." + p
				}
				walk(p, xm[k], ym[k])
			}
			return
		}
		xj, _ := json.Marshal(x)
		yj, _ := json.Marshal(y)
		if !bytes.Equal(xj, yj) && len(diffs) < maxDiffs {
			diffs = append(diffs, fmt.Sprintf("%s: ours %s, theirs %s", path, printable(string(xj)), printable(string(yj))))
		}
	}
	walk("", a, b)
	return diffs, nil
}

// maxDiffs bounds the differences reported from one peer's config.
const maxDiffs = 10

// printable returns s as it is when it is plain printable ASCII, and quoted with
// every other character escaped otherwise: a peer's text never reaches a log or a
// terminal as control characters, escape sequences or bidirectional overrides.
func printable(s string) string {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}

// InitSeed derives the public seed of weight initialisation and batch order.
func (c *Config) InitSeed() sharing.Seed {
	h := sha256.Sum256(fmt.Appendf(nil, "tessera/public-seed/%d", c.Seed))
	var s sharing.Seed
	copy(s[:], h[:])
	return s
}

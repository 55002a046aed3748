package party

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/sharing"
)

// Config is an experiment: the data, the model, the training and the MPC settings.
// Every party of a run must hold the same Config (a deployment checks its hash).
type Config struct {
	Name          string        `yaml:"name" json:"name"`
	Parties       int           `yaml:"parties" json:"parties"`
	Seed          uint64        `yaml:"seed" json:"seed"`
	Precision     int           `yaml:"precision" json:"precision"`
	Preprocessing string        `yaml:"preprocessing" json:"preprocessing"`
	Dataset       DatasetConfig `yaml:"dataset" json:"dataset"`
	Model         ModelConfig   `yaml:"model" json:"model"`
	Training      TrainConfig   `yaml:"training" json:"training"`
}

// DatasetConfig says which data the parties hold and how it is prepared.
type DatasetConfig struct {
	// Name of a shipped dataset: diabetes, cancer, iris, wine.
	Name string `yaml:"name" json:"name"`
	// Dir overrides where the dataset files are read from.
	Dir string `yaml:"dir,omitempty" json:"dir,omitempty"`
	// TestRows is the number of rows, taken from the end, held out for testing.
	TestRows int `yaml:"test_rows" json:"test_rows"`
	// Partition says how training rows are split among parties: "contiguous" (party
	// i holds the i-th contiguous slice, as hospitals hold their own patients).
	Partition string `yaml:"partition" json:"partition"`
	// Scaling is "standardize" (mean and std per feature from a secure sum of the
	// parties' column sums; only the global statistics are revealed) or "none".
	Scaling string `yaml:"scaling" json:"scaling"`
}

// ModelConfig is the network: hidden and output layers with their activations.
type ModelConfig struct {
	Layers []LayerConfig `yaml:"layers" json:"layers"`
}

// LayerConfig is one dense layer.
type LayerConfig struct {
	Units      int    `yaml:"units" json:"units"`
	Activation string `yaml:"activation" json:"activation"`
}

// TrainConfig is mini-batch SGD with mean squared error.
type TrainConfig struct {
	Epochs       int     `yaml:"epochs" json:"epochs"`
	BatchSize    int     `yaml:"batch_size" json:"batch_size"`
	LearningRate float64 `yaml:"learning_rate" json:"learning_rate"`
	// Shuffle draws each epoch's batch order from the public seed.
	Shuffle bool `yaml:"shuffle" json:"shuffle"`
}

// Defaults fills unset optional fields.
func (c *Config) Defaults() {
	if c.Precision == 0 {
		c.Precision = sharing.DefaultFracBits
	}
	if c.Preprocessing == "" {
		c.Preprocessing = "dealer"
	}
	if c.Dataset.Partition == "" {
		c.Dataset.Partition = "contiguous"
	}
	if c.Dataset.Scaling == "" {
		c.Dataset.Scaling = "standardize"
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

// Validate checks every field and names the first bad one.
func (c *Config) Validate() error {
	switch {
	case c.Parties < 2:
		return fmt.Errorf("parties: need at least 2 parties, got %d", c.Parties)
	case c.Parties > 64:
		return fmt.Errorf("parties: at most 64 parties are supported, got %d", c.Parties)
	case c.Precision < sharing.MinFracBits || c.Precision > sharing.MaxFracBits:
		return fmt.Errorf("precision: %d fractional bits is out of range [%d, %d]", c.Precision, sharing.MinFracBits, sharing.MaxFracBits)
	case c.Preprocessing != "dealer":
		return fmt.Errorf("preprocessing: %q is not supported (known: dealer)", c.Preprocessing)
	case c.Dataset.Name == "":
		return errors.New("dataset.name: missing (known: " + strings.Join(dataset.Names(), ", ") + ")")
	case c.Dataset.TestRows < 0:
		return fmt.Errorf("dataset.test_rows: %d is negative", c.Dataset.TestRows)
	case c.Dataset.Partition != "contiguous":
		return fmt.Errorf("dataset.partition: %q is not supported (known: contiguous)", c.Dataset.Partition)
	case c.Dataset.Scaling != "standardize" && c.Dataset.Scaling != "none":
		return fmt.Errorf("dataset.scaling: %q is not supported (known: standardize, none)", c.Dataset.Scaling)
	case len(c.Model.Layers) == 0:
		return errors.New("model.layers: the model has no layers")
	case c.Training.Epochs < 1:
		return fmt.Errorf("training.epochs: need at least 1, got %d", c.Training.Epochs)
	case c.Training.BatchSize < 1:
		return fmt.Errorf("training.batch_size: need at least 1, got %d", c.Training.BatchSize)
	case !(c.Training.LearningRate > 0) || c.Training.LearningRate > 100:
		return fmt.Errorf("training.learning_rate: %v is not in (0, 100]", c.Training.LearningRate)
	}
	known := false
	for _, n := range dataset.Names() {
		if strings.EqualFold(n, c.Dataset.Name) {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("dataset.name: unknown dataset %q (known: %s)", c.Dataset.Name, strings.Join(dataset.Names(), ", "))
	}
	for i, l := range c.Model.Layers {
		if l.Units < 1 {
			return fmt.Errorf("model.layers[%d].units: need at least 1, got %d", i, l.Units)
		}
		if _, err := nn.ActivationByName(l.Activation); err != nil {
			return fmt.Errorf("model.layers[%d].activation: %w", i, err)
		}
	}
	return nil
}

// Spec builds the network for a given number of input features.
func (c *Config) Spec(inputs int) (nn.Spec, error) {
	s := nn.Spec{Inputs: inputs}
	for _, l := range c.Model.Layers {
		a, err := nn.ActivationByName(l.Activation)
		if err != nil {
			return s, err
		}
		s.Layers = append(s.Layers, nn.Layer{Units: l.Units, Activation: a})
	}
	return s, s.Validate()
}

// Hash is a digest of everything the parties must agree on; a deployment's
// handshake compares it.
func (c *Config) Hash() [32]byte {
	raw, _ := json.Marshal(c) // a Config always marshals
	return sha256.Sum256(raw)
}

// InitSeed derives the public seed of weight initialisation and batch order.
func (c *Config) InitSeed() sharing.Seed {
	h := sha256.Sum256(fmt.Appendf(nil, "tessera/public-seed/%d", c.Seed))
	var s sharing.Seed
	copy(s[:], h[:])
	return s
}

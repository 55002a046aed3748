package experiment_test

import (
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
)

const validConfig = `
name: t
parties: 3
seed: 1
dataset: {name: diabetes, test_rows: 50}
model: {layers: [{units: 1, activation: identity}]}
training: {epochs: 1, batch_size: 32, learning_rate: 0.05}
`

func TestConfigErrors(t *testing.T) {
	if _, err := experiment.ParseConfig([]byte(validConfig)); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	cases := []struct{ edit, want string }{
		{"parties: 3\nlearning_rat: 2", "learning_rat"},
		{"parties: 1", "parties: need at least 2"},
		{"parties: 3\nprecision: 40", "precision: 40"},
		{"parties: 3\nprecision: 11", "precision: 11"},
		{"parties: 3\npreprocessing: magic", "preprocessing"},
		{"parties: 3\ndataset: {name: mnist2}", "dataset.name"},
	}
	for _, c := range cases {
		raw := strings.Replace(validConfig, "parties: 3", c.edit, 1)
		if strings.Contains(c.edit, "dataset:") {
			raw = strings.Replace(raw, "dataset: {name: diabetes, test_rows: 50}\n", "", 1)
		}
		_, err := experiment.ParseConfig([]byte(raw))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one naming %q", c.edit, err, c.want)
		}
	}
}

// A peer's config reaches the logs escaped: control characters, escape sequences
// and bidirectional overrides in its keys or values are quoted, never printed raw.
func TestDiffConfigsEscapesPeerText(t *testing.T) {
	ours := []byte(`{"name":"t","training":{"epochs":1}}`)
	theirs := []byte(`{"name":"t\u202e","training":{"epochs":1,"a\u001b[31mred\nfake line":2}}`)
	diffs, err := experiment.DiffConfigs(ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 2 {
		t.Fatalf("diffs %q", diffs)
	}
	for _, d := range diffs {
		for _, r := range d {
			if r < 0x20 || r > 0x7e {
				t.Fatalf("unescaped character %U in %q", r, d)
			}
		}
	}
	if !strings.Contains(diffs[1], `training."a\x1b[31mred\nfake line"`) {
		t.Fatalf("key not quoted: %q", diffs[1])
	}
}

// Layer types in the config: a CNN on MNIST is valid; bad layers are errors naming
// the layer, and image layers need image data.
func TestConfigLayerTypes(t *testing.T) {
	cnn := func(layers string) string {
		return strings.Replace(strings.Replace(validConfig, "{name: diabetes, test_rows: 50}", "{name: mnist, test_rows: 50}", 1),
			"[{units: 1, activation: identity}]", layers, 1)
	}
	good := cnn("[{type: conv2d, maps: 4, kernel: 5, stride: 2, activation: square}, {type: maxpool, size: 2}, {units: 10, activation: identity}]")
	cfg, err := experiment.ParseConfig([]byte(good))
	if err != nil {
		t.Fatalf("CNN config rejected: %v", err)
	}
	spec, err := cfg.Spec(784)
	if err != nil {
		t.Fatal(err)
	}
	if shapes, _ := spec.ParamShapes(); len(shapes) != 2 || shapes[0] != [2]int{25, 4} || shapes[1] != [2]int{4 * 6 * 6, 10} {
		t.Fatalf("parameter shapes %v", shapes)
	}
	for _, c := range []struct{ raw, want string }{
		{cnn("[{type: conv3d}, {units: 10, activation: identity}]"), "model.layers[0].type"},
		{cnn("[{type: conv2d, maps: 4, kernel: 29}, {units: 10, activation: identity}]"), "layer 1 (conv2d): kernel 29x29 is larger"},
		{cnn("[{type: conv2d, maps: 4, kernel: 4}, {type: avgpool, size: 2}, {units: 10, activation: identity}]"), "layer 2 (avgpool): pooling 2x2 does not divide its 4x25x25 input"},
		{cnn("[{type: conv2d, maps: 4, kernel: 5}, {type: maxpool, size: 2}]"), "the output layer must be dense"},
		{strings.Replace(validConfig, "[{units: 1, activation: identity}]", "[{type: conv2d, maps: 2, kernel: 3}, {units: 1, activation: identity}]", 1), "need images"},
	} {
		_, err := experiment.ParseConfig([]byte(c.raw))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}

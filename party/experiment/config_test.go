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

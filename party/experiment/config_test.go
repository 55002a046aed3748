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

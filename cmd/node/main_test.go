package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var nodeBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tessera-node")
	if err != nil {
		panic(err)
	}
	nodeBinary = filepath.Join(dir, "node")
	if out, err := exec.Command("go", "build", "-o", nodeBinary, ".").CombinedOutput(); err != nil {
		panic("building node: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func node(t testing.TB, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(nodeBinary, args...).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestSimulateWritesResults(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results.json")
	text, code := node(t, "simulate", "--config", "../../configs/cancer-mlp-3p.yaml", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	for _, want := range []string{"secure acc", "party 2: sent"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Config map[string]any
		Final  struct {
			Secure struct {
				TestAccuracy *float64 `json:"test_accuracy"`
			}
			Plaintext struct {
				TestAccuracy *float64 `json:"test_accuracy"`
			}
		}
		Cost struct {
			Parties []struct {
				BytesSent int64 `json:"bytes_sent"`
				Rounds    int64 `json:"rounds"`
			}
		}
		Versions map[string]string
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if res.Config["name"] != "cancer-mlp-3p" || res.Final.Secure.TestAccuracy == nil || res.Final.Plaintext.TestAccuracy == nil {
		t.Fatalf("results lack the config echo or final metrics: %s", raw[:min(len(raw), 400)])
	}
	if len(res.Cost.Parties) != 3 || res.Cost.Parties[1].BytesSent == 0 || res.Cost.Parties[1].Rounds == 0 {
		t.Fatalf("results lack per-party costs: %+v", res.Cost)
	}
	if res.Versions["go"] == "" {
		t.Fatal("results lack versions")
	}
}

func TestBadInputExitsNonZeroWithoutOutput(t *testing.T) {
	dir := t.TempDir()
	base, err := os.ReadFile("../../configs/diabetes-linreg-3p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nanDir := filepath.Join(dir, "nan")
	os.Mkdir(nanDir, 0o755)
	os.WriteFile(filepath.Join(nanDir, "diabetes.json"), []byte(`{"data": [[1], [NaN], [3]], "target": [1, 2, 3], "feature_names": ["a"]}`), 0o644)
	cases := []struct{ name, from, to, want string }{
		{"unknown field", "shuffle: true", "shuffle: true\n  weight_decay: 0.9", "weight_decay"},
		{"too few parties", "parties: 3", "parties: 1", "parties"},
		{"precision", "precision: 16", "precision: 30", "precision"},
		{"missing dataset", "  name: diabetes\n", "  name: diabetes\n  dir: " + filepath.Join(dir, "empty") + "\n", "go mod download"},
		{"NaN", "test_rows: 50", "test_rows: 1\n  dir: " + nanDir, "row 1"},
		{"layer size", "units: 1", "units: 4", "model.layers[0].units"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfgPath := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yaml")
			os.WriteFile(cfgPath, []byte(strings.Replace(string(base), c.from, c.to, 1)), 0o644)
			out := filepath.Join(dir, c.name+".json")
			text, code := node(t, "simulate", "--config", cfgPath, "--out", out)
			if code == 0 {
				t.Fatalf("exit 0 on bad input:\n%s", text)
			}
			if !strings.Contains(text, c.want) {
				t.Fatalf("error does not name %q:\n%s", c.want, text)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("a results file was written despite the error")
			}
		})
	}
	if _, code := node(t, "frobnicate"); code == 0 {
		t.Fatal("unknown command exited 0")
	}
}

// A CSV experiment with a bad cell exits non-zero naming the file, line and
// column, and writes no results.
func TestBadCSVExitsNonZeroWithoutOutput(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "data.csv"), []byte("age,bmi,y\n30,22.5,1\n41,abc,0\n"), 0o644)
	cfg := `name: bad-csv
parties: 2
seed: 1
dataset:
  csv: {file: data.csv, target: y, task: regression}
  test_rows: 1
model: {layers: [{units: 1, activation: identity}]}
training: {epochs: 1, batch_size: 1, learning_rate: 0.01}
`
	cfgPath := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	out := filepath.Join(dir, "results.json")
	text, code := node(t, "simulate", "--config", cfgPath, "--out", out)
	if code == 0 {
		t.Fatalf("exit 0 on a bad cell:\n%s", text)
	}
	for _, want := range []string{"data.csv", "line 3", "bmi"} {
		if !strings.Contains(text, want) {
			t.Fatalf("error does not name %q:\n%s", want, text)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a results file was written despite the error")
	}
}

// --parties runs a config's experiment among another number of parties; a count
// the config cannot take is an error naming the flag.
func TestBenchAndSimulatePartiesFlag(t *testing.T) {
	text, code := node(t, "bench", "--config", "../../configs/cancer-mlp-3p.yaml", "--parties", "5", "--steps", "1", "--transport", "memory")
	if code != 0 || !strings.Contains(text, "cancer-mlp-3p: 5 parties") {
		t.Fatalf("bench --parties 5: exit %d:\n%s", code, text)
	}
	out := filepath.Join(t.TempDir(), "results.json")
	text, code = node(t, "simulate", "--config", "../../configs/cancer-mlp-3p.yaml", "--parties", "2", "--out", out)
	if code != 0 || !strings.Contains(text, "party 1: sent") || strings.Contains(text, "party 2: sent") {
		t.Fatalf("simulate --parties 2: exit %d:\n%s", code, text)
	}
	for _, args := range [][]string{{"bench", "--steps", "1"}, {"simulate"}} {
		text, code = node(t, append(args, "--config", "../../configs/cancer-mlp-3p.yaml", "--parties", "1")...)
		if code == 0 || !strings.Contains(text, "--parties") {
			t.Fatalf("%s --parties 1: exit %d:\n%s", args[0], code, text)
		}
	}
}

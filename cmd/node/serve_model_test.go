package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
)

// TestCheckModelMatches: `node serve` refuses a plain model trained for
// another network than its node's experiment, naming the mismatch, and
// accepts the experiment's own.
func TestCheckModelMatches(t *testing.T) {
	load := func(path string) *experiment.Config {
		c, err := experiment.LoadConfig(path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	exp := load("../../configs/mnist-mlp-3p.yaml")
	modelOf := func(edit func(*experiment.Config), features int) *report.ModelFile {
		c := load("../../configs/mnist-mlp-3p.yaml")
		c.Model.Layers = slices.Clone(c.Model.Layers)
		if edit != nil {
			edit(c)
		}
		return &report.ModelFile{Config: c, Layers: []report.PlainLayer{{In: features}}}
	}
	if err := checkModelMatches(exp, modelOf(nil, 784)); err != nil {
		t.Fatalf("the experiment's own model: %v", err)
	}
	for _, tc := range []struct {
		name  string
		model *report.ModelFile
		want  string
	}{
		{"hidden units", modelOf(func(c *experiment.Config) { c.Model.Layers[1].Units = 64 }, 784), "weights 1 are 128x64 in the model, 128x128"},
		{"layers", modelOf(func(c *experiment.Config) { c.Model.Layers = c.Model.Layers[1:] }, 784), "the model has 2 layers"},
		{"activation", modelOf(func(c *experiment.Config) { c.Model.Layers[0].Activation = "square" }, 784), "layer 0 is dense square in the model, dense relu"},
		{"loss", modelOf(func(c *experiment.Config) { c.Model.Loss = "mse" }, 784), `loss "mse"`},
		{"features", &report.ModelFile{Config: load("../../configs/wine-mlp-3p.yaml"), Layers: []report.PlainLayer{{In: 13}}}, `the model takes 13 features, the node's experiment "mnist-mlp-3p" 784`},
	} {
		err := checkModelMatches(exp, tc.model)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

package run

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/party/experiment"
)

// TestPlanFromShapes checks that the plan assembled from a short dry run (two
// steps per batch size) is request for request the plan of the whole dry run:
// with a shorter last batch per epoch, momentum and learning-rate decay,
// horizontal and vertical layouts, and a run cut by max_steps mid-epoch.
func TestPlanFromShapes(t *testing.T) {
	cases := []struct {
		config string
		edit   func(*experiment.Config)
	}{
		{"cancer-mlp-3p.yaml", func(c *experiment.Config) { c.Training.Epochs = 3 }},
		{"cancer-mlp-3p.yaml", func(c *experiment.Config) {
			c.Training.Epochs, c.Training.Momentum, c.Training.LRDecay, c.Training.LRDecayEvery = 2, 0.9, 0.5, 1
			c.Training.MaxSteps = 20
		}},
		{"cancer-mlp-3p-vertical.yaml", func(c *experiment.Config) { c.Training.Epochs = 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.config, func(t *testing.T) {
			cfg, err := experiment.LoadConfig(filepath.Join("..", "..", "configs", tc.config))
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(cfg)
			split, err := experiment.LoadSplit(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			got, assembled, err := planFromShapes(ctx, cfg, split.Layout, split.Task, split.Classes, split.Test)
			if err != nil {
				t.Fatal(err)
			}
			if !assembled {
				t.Fatal("the plan was not assembled from shapes: it fell back to the whole dry run")
			}
			whole, err := recordDryRun(ctx, cfg, split.Layout, split.Task, split.Classes, split.Test)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(whole.reqs) {
				t.Fatalf("%d requests from shapes, %d from the whole dry run", len(got), len(whole.reqs))
			}
			for i, r := range whole.reqs {
				if !got[i].Equal(r) {
					t.Fatalf("request %d: %s from shapes, %s from the whole dry run", i, got[i], r)
				}
			}
			if len(whole.stepEnds) < 3 {
				t.Fatalf("the case has %d steps: too short to test repetition", len(whole.stepEnds))
			}
		})
	}
}

// BenchmarkRecordPlanMNIST times the plan of the full MNIST run (5 epochs, 2,345
// steps): assembled from shapes, against the whole dry run.
//
//	go test ./party/run -run '^$' -bench RecordPlanMNIST -benchtime 1x
func BenchmarkRecordPlanMNIST(b *testing.B) {
	cfg, err := experiment.LoadConfig(filepath.Join("..", "..", "configs", "mnist-mlp-3p.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	split, err := experiment.LoadSplit(cfg)
	if err != nil {
		b.Skip(err)
	}
	ctx := context.Background()
	b.Run("shapes", func(b *testing.B) {
		for range b.N {
			if _, ok, err := planFromShapes(ctx, cfg, split.Layout, split.Task, split.Classes, split.Test); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("whole-dry-run", func(b *testing.B) {
		for range b.N {
			if _, err := recordDryRun(ctx, cfg, split.Layout, split.Task, split.Classes, split.Test); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package run

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/checkpoint"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/protocol"
)

func resumeConfig(t *testing.T, name string, epochs, every int) *experiment.Config {
	t.Helper()
	cfg, err := experiment.LoadConfig(filepath.Join("..", "..", "configs", name))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Training.Epochs, cfg.Training.CheckpointEvery = epochs, every
	return cfg
}

func insecure(seed uint64) Randomness { return Randomness{InsecureSeed: &seed} }

// stopAfter is a simulation that every party stops (its context cancelled) once
// the reporting party has done step k and saved what was due.
func stopAfter(t *testing.T, cfg *experiment.Config, opts SimOptions, k int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := 0
	opts.afterStep = func(train.StepReport) {
		if done++; done == k {
			cancel()
		}
	}
	if _, _, err := Simulate(ctx, cfg, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("a run stopped after step %d: %v", k, err)
	}
}

func checkpointSteps(t *testing.T, dir string) []int {
	t.Helper()
	found, _, err := checkpoint.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var steps []int
	for _, f := range found {
		steps = append(steps, f.State.Step)
	}
	return steps
}

// TestResumeBitIdentical stops a simulation (dealer, insecure test seed, momentum)
// after k steps and resumes it: the final model and every epoch's metrics are
// bit-identical to an uninterrupted run's. Stops fall mid-epoch between
// checkpoints (steps after the checkpoint are replayed), on an epoch's last step
// (its evaluation runs on resume), and with party 1's newest checkpoint cut short as
// by a crash mid-write (the parties agree on the one before).
func TestResumeBitIdentical(t *testing.T) {
	cfg := resumeConfig(t, "cancer-mlp-3p.yaml", 3, 4) // 15 steps per epoch
	cfg.Training.Momentum = 0.5
	want, wantResults, err := Simulate(context.Background(), cfg, SimOptions{Randomness: insecure(3)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		stop    int
		corrupt bool
		from    int // the step resumed from
	}{
		{"mid-epoch", 19, false, 16},
		{"end-of-epoch", 15, false, 15},
		{"newest-corrupt", 26, true, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := SimOptions{Randomness: insecure(3), CheckpointDir: dir}
			stopAfter(t, cfg, opts, tc.stop)
			if tc.corrupt {
				p1 := filepath.Join(dir, "party-1")
				newest := filepath.Join(p1, checkpoint.FileName(checkpointSteps(t, p1)[0]))
				raw, _ := os.ReadFile(newest)
				os.WriteFile(newest, raw[:len(raw)/3], 0o600)
			}
			opts.Resume = true
			got, gotResults, err := Simulate(context.Background(), cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			for i := range wantResults {
				w, g := wantResults[i].Model, gotResults[i].Model
				for l := range w.W {
					if !slices.Equal(w.W[l].RawMatrix().Data, g.W[l].RawMatrix().Data) || !slices.Equal(w.B[l].RawMatrix().Data, g.B[l].RawMatrix().Data) {
						t.Fatalf("party %d: layer %d of the resumed model differs from the uninterrupted one", i, l)
					}
				}
			}
			if !sameEpochs(want, got) {
				t.Fatalf("epoch metrics differ:\nuninterrupted %+v\nresumed       %+v", want.Epochs, got.Epochs)
			}
			if !slices.Equal(wantResults[0].Openings, gotResults[0].Openings) {
				t.Fatalf("the resumed run's openings differ:\n%v\n%v", wantResults[0].Openings, gotResults[0].Openings)
			}
			if steps := checkpointSteps(t, filepath.Join(dir, "party-0")); !slices.Equal(steps, []int{45, 44}) {
				t.Fatalf("party 0 keeps checkpoints %v, want [45 44]", steps)
			}
		})
	}
}

func sameEpochs(a, b *report.Results) bool {
	if len(a.Epochs) != len(b.Epochs) {
		return false
	}
	for i := range a.Epochs {
		x, y := a.Epochs[i], b.Epochs[i]
		if x.Epoch != y.Epoch || x.Steps != y.Steps || !sameMetric(x.Secure.TrainLoss, y.Secure.TrainLoss) ||
			!sameMetric(x.Secure.TestAccuracy, y.Secure.TestAccuracy) || !sameMetric(x.Secure.TestMSE, y.Secure.TestMSE) {
			return false
		}
	}
	return true
}

func sameMetric(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// TestResumeDealerFree stops a dealer-free run (threshold CKKS and OT, pipelined
// from the recorded plan) and resumes it: the plan is served from the checkpoint's
// position with fresh material, and the metrics match an uninterrupted run within
// the fixed-point bound.
func TestResumeDealerFree(t *testing.T) {
	if testing.Short() {
		t.Skip("dealer-free preprocessing: skipped with -short")
	}
	cfg := resumeConfig(t, "diabetes-linreg-3p.yaml", 2, 5) // 13 steps per epoch
	cfg.Preprocessing = experiment.PrepHE
	want, _, err := Simulate(context.Background(), cfg, SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stopAfter(t, cfg, SimOptions{CheckpointDir: dir}, 17)
	got, _, err := Simulate(context.Background(), cfg, SimOptions{CheckpointDir: dir, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	w, g := want.Final.Secure, got.Final.Secure
	if rel := math.Abs(*w.TestMSE-*g.TestMSE) / *w.TestMSE; rel > 1e-3 {
		t.Fatalf("test MSE: uninterrupted %v, resumed %v", *w.TestMSE, *g.TestMSE)
	}
	if len(got.Epochs) != 2 {
		t.Fatalf("the resumed run reports %d epochs, want 2", len(got.Epochs))
	}
}

// TestResumeRefusals: a resume that cannot continue the same run is refused,
// naming why.
func TestResumeRefusals(t *testing.T) {
	cfg := resumeConfig(t, "diabetes-linreg-3p.yaml", 1, 3)
	dir := t.TempDir()
	stopAfter(t, cfg, SimOptions{CheckpointDir: dir}, 7)
	refused := func(cfg *experiment.Config, opts SimOptions, want string) {
		t.Helper()
		_, _, err := Simulate(context.Background(), cfg, opts)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want an error naming %q", err, want)
		}
	}
	changed := *cfg
	changed.Training.LearningRate = 0.07
	refused(&changed, SimOptions{CheckpointDir: dir, Resume: true}, "training.learning_rate: ours 0.07, theirs 0.05")
	refused(cfg, SimOptions{CheckpointDir: dir}, "holds checkpoints of an earlier run (newest: step 6)")
	refused(cfg, SimOptions{CheckpointDir: t.TempDir(), Resume: true}, "no checkpoint is held by every party: party 0 holds steps []")

	// Parties 1 and 2 swap their directories: each holds the other's shares.
	p1, p2 := filepath.Join(dir, "party-1"), filepath.Join(dir, "party-2")
	os.Rename(p1, p1+".tmp")
	os.Rename(p2, p1)
	os.Rename(p1+".tmp", p2)
	refused(cfg, SimOptions{CheckpointDir: dir, Resume: true}, "is party 2's, this is party 1")
	os.Rename(p2, p2+".tmp")
	os.Rename(p1, p2)
	os.Rename(p2+".tmp", p1)

	// Party 2 lost every checkpoint.
	os.RemoveAll(p2)
	os.MkdirAll(p2, 0o700)
	refused(cfg, SimOptions{CheckpointDir: dir, Resume: true}, "party 2 holds steps []")
}

// TestCheckpointOfAnotherPartySet: a deployed party's checkpoint names the
// parties' identities and holds a digest of its own data; a resume with a party
// replaced, or on changed data, is refused naming it.
func TestCheckpointOfAnotherPartySet(t *testing.T) {
	cfg := resumeConfig(t, "diabetes-linreg-3p.yaml", 1, 3)
	dir := t.TempDir()
	stopAfter(t, cfg, SimOptions{CheckpointDir: dir}, 4)
	found, _, err := checkpoint.List(filepath.Join(dir, "party-1"))
	if err != nil || len(found) == 0 {
		t.Fatal(err)
	}
	split, err := experiment.LoadSplit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ck := found[0]
	ck.Public.Members = []string{"id-a", "id-b", "id-c"}
	check := func(members []string, own func(*dataset.Dataset), want string) {
		t.Helper()
		data := *split.Parts[1]
		data.X = slices.Clone(data.X)
		own(&data)
		c, err := newCheckpointer(dir, true, 1, cfg, members, &data, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = c.checkLocal(ck, split.Layout)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
	same := func(*dataset.Dataset) {}
	check([]string{"id-a", "id-b", "id-c"}, same, "")
	check([]string{"id-a", "id-x", "id-c"}, same, `party 1 changed since checkpoint`)
	check([]string{"id-a", "id-b", "id-c"}, func(d *dataset.Dataset) {
		d.X[3] = append([]float64{d.X[3][0] + 1}, d.X[3][1:]...)
	}, "party 1's own data changed")
	other := split.Layout
	other.RowsPerParty = []int{1, 2, 3}
	if err := (&checkpointer{self: 1, cfg: cfg, members: ck.Public.Members, dataHash: ck.DataHash}).checkLocal(ck, other); err == nil || !strings.Contains(err.Error(), "layout") {
		t.Fatalf("a changed layout: %v", err)
	}
}

// TestResumeFlagsMustAgree: a party started with --resume among parties started
// without it is refused by every party, naming the mismatch.
func TestResumeFlagsMustAgree(t *testing.T) {
	cfg := resumeConfig(t, "diabetes-linreg-3p.yaml", 1, 0)
	split, err := experiment.LoadSplit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := network.NewMemoryNetwork(3)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 3)
	runParties(context.Background(), 3, nil, func(ctx context.Context, i int) error {
		ck, err := newCheckpointer(t.TempDir(), i == 2, i, cfg, nil, split.Parts[i], nil)
		if err == nil {
			var e *protocol.Engine
			if e, err = publicEngine(ts[i], cfg); err == nil {
				err = ck.agree(ctx, e, split.Layout)
			}
		}
		errs[i] = err
		return nil
	})
	for i, want := range []string{"party 2 was started with --resume, this party without", "party 2 was started with --resume, this party without", "party 0 was started without --resume, this party with"} {
		if errs[i] == nil || !strings.Contains(errs[i].Error(), want) {
			t.Fatalf("party %d: got %v, want %q", i, errs[i], want)
		}
	}
}

package experiment

import (
	"iter"

	"github.com/tessera-mpc/tessera/sharing"
)

// EpochOrder is the public order in which training rows are visited in an epoch:
// a Fisher-Yates shuffle driven by the config's public seed, or the identity.
func EpochOrder(cfg *Config, epoch, rows int) []int {
	if !cfg.Training.Shuffle {
		return seq(rows)
	}
	return permutation(sharing.NewPRG(cfg.InitSeed(), uint64(1+epoch)), rows)
}

// Schedule is the public order of training: each epoch visits the rows in
// EpochOrder, cut into batches of the batch size (the last one may be shorter),
// and training stops after MaxSteps steps in all. Secure training, its plaintext
// twin and the benchmark all follow it.
type Schedule struct {
	cfg       *Config
	Rows      int
	BatchSize int
	Epochs    int
	MaxSteps  int // 0: no limit
}

// NewSchedule is the schedule of cfg's training over rows training rows.
func NewSchedule(cfg *Config, rows int) Schedule {
	return Schedule{cfg: cfg, Rows: rows, BatchSize: cfg.Training.BatchSize, Epochs: cfg.Training.Epochs, MaxSteps: cfg.Training.MaxSteps}
}

// Step is one training step.
type Step struct {
	Epoch int   // from 0
	Index int   // within the epoch, from 0
	Done  int   // steps taken in all, this one included
	Rows  []int // the batch, in the public order
	// LastOfEpoch: the epoch ends after this step (its batches are done, or
	// MaxSteps is reached).
	LastOfEpoch bool
}

// StepsPerEpoch is the number of batches of a whole epoch.
func (s Schedule) StepsPerEpoch() int { return (s.Rows + s.BatchSize - 1) / s.BatchSize }

// Steps yields the steps in order.
func (s Schedule) Steps() iter.Seq[Step] {
	return func(yield func(Step) bool) {
		done := 0
		for epoch := 0; epoch < s.Epochs; epoch++ {
			order := EpochOrder(s.cfg, epoch, s.Rows)
			for from, index := 0, 0; from < s.Rows; from, index = from+s.BatchSize, index+1 {
				done++
				to := min(from+s.BatchSize, s.Rows)
				last := to == s.Rows || (s.MaxSteps > 0 && done >= s.MaxSteps)
				if !yield(Step{Epoch: epoch, Index: index, Done: done, Rows: order[from:to], LastOfEpoch: last}) {
					return
				}
				if last && s.MaxSteps > 0 && done >= s.MaxSteps {
					return
				}
			}
		}
	}
}

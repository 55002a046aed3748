package experiment_test

import (
	"slices"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
)

// TestScheduleCutsEpochsAndStops: 10 rows in batches of 4 are steps of 4, 4 and 2
// rows that visit every row once per epoch; max_steps ends training mid-epoch, and
// that epoch still ends (its last step is marked).
func TestScheduleCutsEpochsAndStops(t *testing.T) {
	cfg := &experiment.Config{Seed: 3, Training: experiment.TrainConfig{Epochs: 3, BatchSize: 4, Shuffle: true}}
	var sizes []int
	var ends []int // Done of each epoch's last step
	seen := map[int][]int{}
	for st := range experiment.NewSchedule(cfg, 10).Steps() {
		sizes = append(sizes, len(st.Rows))
		seen[st.Epoch] = append(seen[st.Epoch], st.Rows...)
		if st.LastOfEpoch {
			ends = append(ends, st.Done)
		}
	}
	if !slices.Equal(sizes, []int{4, 4, 2, 4, 4, 2, 4, 4, 2}) || !slices.Equal(ends, []int{3, 6, 9}) {
		t.Fatalf("batch sizes %v, epoch ends %v", sizes, ends)
	}
	for e, rows := range seen {
		slices.Sort(rows)
		if !slices.Equal(rows, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Fatalf("epoch %d visits %v", e, rows)
		}
	}
	cfg.Training.MaxSteps = 5
	ends = nil
	steps := 0
	for st := range experiment.NewSchedule(cfg, 10).Steps() {
		steps++
		if st.LastOfEpoch {
			ends = append(ends, st.Done)
		}
	}
	if steps != 5 || !slices.Equal(ends, []int{3, 5}) {
		t.Fatalf("max_steps 5: %d steps, epoch ends %v", steps, ends)
	}
}

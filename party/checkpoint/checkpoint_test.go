package checkpoint

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/sharing"
)

func sample(step int) *Checkpoint {
	t := func(seed uint64, r, c int) sharing.Tensor {
		return sharing.NewPRG(sharing.Seed{byte(seed)}, seed).Tensor(r, c)
	}
	return &Checkpoint{
		Public: Public{Run: "run", Experiment: "hash", Layout: experiment.Layout{RowsPerParty: []int{3, 4}, Rows: 7, Features: 2},
			Step: step, Position: uint64(10 * step)},
		Party: 1, Experiment: []byte(`{"name":"x"}`), DataHash: "data",
		State: train.State{Step: step, RowsSeen: 5, Epochs: []train.EpochReport{{Epoch: 1, Steps: 2}},
			W: []sharing.Tensor{t(1, 2, 3), t(2, 3, 1)}, B: []sharing.Tensor{t(3, 1, 3), t(4, 1, 1)},
			VW: []sharing.Tensor{t(5, 2, 3), t(6, 3, 1)}, VB: []sharing.Tensor{t(7, 1, 3), t(8, 1, 1)}, SSE: t(9, 1, 1)},
	}
}

func TestRoundTrip(t *testing.T) {
	c := sample(4)
	raw, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Public.Digest() != c.Public.Digest() || got.Party != 1 || got.State.Step != 4 || got.State.RowsSeen != 5 || len(got.State.Epochs) != 1 {
		t.Fatalf("metadata did not survive: %+v", got.Public)
	}
	want, have := c.State.Tensors(), got.State.Tensors()
	if len(want) != len(have) {
		t.Fatalf("%d tensors back, want %d", len(have), len(want))
	}
	for i := range want {
		if !slices.Equal(want[i].Shape, have[i].Shape) || !slices.Equal(want[i].Data, have[i].Data) {
			t.Fatalf("tensor %d differs", i)
		}
	}
	// The shares are never part of the JSON metadata.
	if bytes.Contains(raw, []byte(`"W"`)) || bytes.Contains(raw, []byte("weights")) {
		t.Fatal("the metadata names the shares")
	}
}

// TestCorruptRefused flips every byte in turn and cuts the file at every length:
// no altered or truncated file is ever loaded.
func TestCorruptRefused(t *testing.T) {
	raw, err := sample(2).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		bad := slices.Clone(raw)
		bad[i] ^= 0x40
		if _, err := Unmarshal(bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d altered: got %v, want ErrCorrupt", i, err)
		}
	}
	for n := 0; n < len(raw); n++ {
		if _, err := Unmarshal(raw[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("cut at %d: got %v, want ErrCorrupt", n, err)
		}
	}
}

func TestSaveKeepsLastTwo(t *testing.T) {
	dir := t.TempDir()
	for _, step := range []int{5, 10, 15, 20} {
		if _, err := Save(dir, sample(step)); err != nil {
			t.Fatal(err)
		}
	}
	found, skipped, err := List(dir)
	if err != nil || len(skipped) > 0 {
		t.Fatal(err, skipped)
	}
	var got []int
	for _, f := range found {
		got = append(got, f.State.Step)
	}
	if !slices.Equal(got, []int{20, 15}) {
		t.Fatalf("kept steps %v, want [20 15]", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("the directory holds %d files, want 2", len(entries))
	}
}

// TestCrashDuringWrite leaves what a crash mid-write can leave: a temporary file
// (the rename never happened), and, as if the disk had lost the tail of the
// newest file, a truncated checkpoint. The previous checkpoint is the one found;
// the next Save removes the temporary file.
func TestCrashDuringWrite(t *testing.T) {
	dir := t.TempDir()
	for _, step := range []int{10, 20} {
		if _, err := Save(dir, sample(step)); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := sample(30).Marshal()
	tmp := filepath.Join(dir, "."+FileName(30)+"-123"+tempSuffix)
	if err := os.WriteFile(tmp, raw[:len(raw)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	found, _, err := List(dir)
	if err != nil || len(found) != 2 || found[0].State.Step != 20 {
		t.Fatalf("with a temporary file: %v, %d found", err, len(found))
	}
	path20 := filepath.Join(dir, FileName(20))
	whole, _ := os.ReadFile(path20)
	if err := os.WriteFile(path20, whole[:len(whole)-7], 0o600); err != nil {
		t.Fatal(err)
	}
	found, skipped, err := List(dir)
	if err != nil || len(found) != 1 || found[0].State.Step != 10 {
		t.Fatalf("with the newest cut short: %v, found %d", err, len(found))
	}
	if len(skipped) != 1 || !errors.Is(skipped[0], ErrCorrupt) || !strings.Contains(skipped[0].Error(), FileName(20)) {
		t.Fatalf("the corrupt file is not reported by name: %v", skipped)
	}
	if _, err := Save(dir, sample(30)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the temporary file of the interrupted write is still there")
	}
}

func TestDropAfter(t *testing.T) {
	dir := t.TempDir()
	for _, step := range []int{10, 20} {
		if _, err := Save(dir, sample(step)); err != nil {
			t.Fatal(err)
		}
	}
	if err := DropAfter(dir, 10); err != nil {
		t.Fatal(err)
	}
	found, _, _ := List(dir)
	if len(found) != 1 || found[0].State.Step != 10 {
		t.Fatalf("after DropAfter(10): %d checkpoints", len(found))
	}
}

// TestRenamedFileRefused: a file named for one step that holds another is not a
// checkpoint of that step.
func TestRenamedFileRefused(t *testing.T) {
	dir := t.TempDir()
	path, err := Save(dir, sample(10))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, filepath.Join(dir, FileName(40))); err != nil {
		t.Fatal(err)
	}
	found, skipped, _ := List(dir)
	if len(found) != 0 || len(skipped) != 1 {
		t.Fatalf("a renamed checkpoint was loaded: %d found", len(found))
	}
}

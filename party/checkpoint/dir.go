package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Keep is how many checkpoints a directory keeps: the newest, and the one
// before it for when a party died while writing the newest (its peers may hold
// the newest, it does not: they agree on the one before).
const Keep = 2

const (
	filePrefix = "step-"
	fileSuffix = ".ckpt"
	tempSuffix = ".tmp"
)

// FileName is the name of the checkpoint of a step.
func FileName(step int) string { return fmt.Sprintf("%s%010d%s", filePrefix, step, fileSuffix) }

// stepOf parses a checkpoint file name.
func stepOf(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, filePrefix)
	if !ok {
		return 0, false
	}
	if digits, ok = strings.CutSuffix(digits, fileSuffix); !ok || digits == "" {
		return 0, false
	}
	step := 0
	for _, r := range digits {
		if r < '0' || r > '9' || step > 1<<40 {
			return 0, false
		}
		step = 10*step + int(r-'0')
	}
	return step, true
}

// Save writes c to dir atomically and prunes the directory to the newest Keep
// checkpoints. A crash at any point leaves every earlier checkpoint intact and,
// at worst, a temporary file that the next Save removes.
func Save(dir string, c *Checkpoint) (string, error) {
	raw, err := c.Marshal()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	removeTemps(dir)
	path := filepath.Join(dir, FileName(c.State.Step))
	if err := writeAtomic(dir, path, raw); err != nil {
		return "", fmt.Errorf("checkpoint: writing %s: %w", path, err)
	}
	if err := prune(dir, Keep); err != nil {
		return path, fmt.Errorf("checkpoint: pruning %s: %w", dir, err)
	}
	return path, nil
}

// writeAtomic writes raw to a temporary file in dir, syncs it, renames it to path
// and syncs dir, so that path holds either its old content or all of raw.
func writeAtomic(dir, path string, raw []byte) error {
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*"+tempSuffix)
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// removeTemps removes what an interrupted Save left.
func removeTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if name := e.Name(); strings.HasPrefix(name, "."+filePrefix) && strings.HasSuffix(name, tempSuffix) {
			os.Remove(filepath.Join(dir, name))
		}
	}
}

// steps lists the steps of the checkpoint files in dir, newest first.
func steps(dir string) ([]int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range entries {
		if step, ok := stepOf(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, step)
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// prune removes all but the newest keep checkpoint files.
func prune(dir string, keep int) error {
	all, err := steps(dir)
	if err != nil || len(all) <= keep {
		return err
	}
	var errs []error
	for _, step := range all[keep:] {
		errs = append(errs, os.Remove(filepath.Join(dir, FileName(step))))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return syncDir(dir)
}

// Loaded is a checkpoint read from its file.
type Loaded struct {
	Path string
	*Checkpoint
}

// List reads every checkpoint in dir, newest first. A file that is not an intact
// checkpoint (cut short by a crash, altered) is skipped and reported in skipped:
// it is never loaded.
func List(dir string) (found []Loaded, skipped []error, err error) {
	all, err := steps(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	for _, step := range all {
		path := filepath.Join(dir, FileName(step))
		c, err := Load(path)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		if c.State.Step != step {
			skipped = append(skipped, fmt.Errorf("checkpoint %s: %w: it holds step %d", path, ErrCorrupt, c.State.Step))
			continue
		}
		found = append(found, Loaded{Path: path, Checkpoint: c})
	}
	return found, skipped, nil
}

// Load reads one checkpoint file.
func Load(path string) (*Checkpoint, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	c, err := Unmarshal(raw)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return c, nil
}

// DropAfter removes the checkpoints of steps after step: once the parties agree to
// resume from step, the newer ones belong to a continuation that is abandoned, and
// their shares must never be combined with the new continuation's.
func DropAfter(dir string, step int) error {
	all, err := steps(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	removed := false
	for _, s := range all {
		if s > step {
			if err := os.Remove(filepath.Join(dir, FileName(s))); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
			removed = true
		}
	}
	if removed {
		return syncDir(dir)
	}
	return nil
}

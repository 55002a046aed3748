package report

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tessera-mpc/tessera/party/train"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// WriteReport writes metrics.csv (one row per epoch, secure beside plaintext) and
// PNG plots of the training loss and of the test metric to dir.
func WriteReport(dir string, r *Results) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var written []string
	csvPath := filepath.Join(dir, "metrics.csv")
	if err := writeMetricsCSV(csvPath, r); err != nil {
		return nil, err
	}
	written = append(written, csvPath)
	type series struct {
		file, title, ylabel string
		get                 func(train.Metrics) *float64
	}
	plots := []series{{"loss.png", "Training loss", "loss", func(m train.Metrics) *float64 { return m.TrainLoss }}}
	if r.Final.Secure.TestAccuracy != nil {
		plots = append(plots, series{"accuracy.png", "Test accuracy", "accuracy", func(m train.Metrics) *float64 { return m.TestAccuracy }})
	} else if r.Final.Secure.TestMSE != nil {
		plots = append(plots, series{"test-mse.png", "Test MSE", "MSE", func(m train.Metrics) *float64 { return m.TestMSE }})
	}
	for _, s := range plots {
		path := filepath.Join(dir, s.file)
		ok, err := plotSeries(path, r, s.title, s.ylabel, s.get)
		if err != nil {
			return written, err
		}
		if ok {
			written = append(written, path)
		}
	}
	return written, nil
}

func writeMetricsCSV(path string, r *Results) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".metrics-*.csv")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(f.Name())
	w := csv.NewWriter(f)
	w.Write([]string{"epoch", "steps", "secure_train_loss", "plain_train_loss", "secure_test_mse", "plain_test_mse", "secure_test_accuracy", "plain_test_accuracy", "secure_elapsed_s"})
	cell := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'g', 10, 64)
	}
	for _, e := range r.Epochs {
		p := train.Metrics{}
		if e.Plaintext != nil {
			p = *e.Plaintext
		}
		w.Write([]string{strconv.Itoa(e.Epoch), strconv.Itoa(e.Steps), cell(e.Secure.TrainLoss), cell(p.TrainLoss), cell(e.Secure.TestMSE), cell(p.TestMSE),
			cell(e.Secure.TestAccuracy), cell(p.TestAccuracy), strconv.FormatFloat(e.SecureSec, 'f', 3, 64)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return os.Rename(f.Name(), path)
}

// plotSeries draws one metric per epoch, secure against plaintext. It reports false
// when no epoch has the metric.
func plotSeries(path string, r *Results, title, ylabel string, get func(train.Metrics) *float64) (bool, error) {
	var sec, pl plotter.XYs
	for _, e := range r.Epochs {
		if v := get(e.Secure); v != nil {
			sec = append(sec, plotter.XY{X: float64(e.Epoch), Y: *v})
		}
		if e.Plaintext != nil {
			if v := get(*e.Plaintext); v != nil {
				pl = append(pl, plotter.XY{X: float64(e.Epoch), Y: *v})
			}
		}
	}
	if len(sec) == 0 {
		return false, nil
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %s", r.Config.Name, title)
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = ylabel
	args := []any{"secure (MPC)", sec}
	if len(pl) > 0 {
		args = append(args, "plaintext float64", pl)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return false, fmt.Errorf("report: %w", err)
	}
	p.Legend.Top = ylabel != "accuracy" // keep the legend off the rising curve
	tmp := path + ".tmp.png"
	if err := p.Save(6*vg.Inch, 4*vg.Inch, tmp); err != nil {
		return false, fmt.Errorf("report: %w", err)
	}
	return true, os.Rename(tmp, path)
}

package report_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/run"
)

func TestReportFiles(t *testing.T) {
	cfg := loadConfig(t)
	cfg.Training.Epochs = 3
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	files, err := report.WriteReport(t.TempDir(), res)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("report files %v, want metrics.csv, loss.png, test-mse.png", files)
	}
	raw, err := os.ReadFile(files[0])
	if err != nil || strings.Count(string(raw), "\n") != 4 {
		t.Fatalf("metrics.csv: %q %v", raw, err)
	}
	png, _ := os.ReadFile(files[1])
	if len(png) < 1000 || string(png[1:4]) != "PNG" {
		t.Fatalf("loss.png is not a PNG")
	}
}

func loadConfig(t testing.TB) *experiment.Config {
	t.Helper()
	cfg, err := experiment.LoadConfig(filepath.Join("..", "..", "configs", "diabetes-linreg-3p.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

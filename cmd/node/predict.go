package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/run"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func predict(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var models multiFlag
	fs.Var(&models, "model", "model file: model.json, or one share file per party (repeat the flag)")
	datasetName := fs.String("dataset", "", "evaluate on this dataset's test rows (default: the model's experiment)")
	out := fs.String("out", "", "write the evaluation as JSON to this file")
	configPath := fs.String("config", "", "run as one party of a deployment (node config as for `node run`), with --model this party's share file only")
	logLevel := fs.String("log-level", "warn", "log level on stderr (with --config): debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkArgs(fs, map[string]string{"model": models.String()}); err != nil {
		return err
	}
	if *configPath != "" {
		return predictDeployed(ctx, *configPath, models, *logLevel, *out, stdout, stderr)
	}
	var files []*report.ModelFile
	for _, path := range models {
		f, err := report.LoadModel(path)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	cfg := *files[0].Config
	if *datasetName != "" {
		cfg.Dataset.Name = *datasetName
	}
	test, err := experiment.LoadTestSet(&cfg)
	if err != nil {
		return err
	}
	var pred *run.Prediction
	if files[0].Shares == nil {
		if len(files) > 1 {
			return fmt.Errorf("predict: give one plain model, or every party's share file")
		}
		pred, err = run.PredictPlain(files[0], test)
	} else {
		pred, err = run.PredictShared(ctx, files, test)
	}
	if err != nil {
		return err
	}
	how := "plain model"
	if pred.Secure {
		how = fmt.Sprintf("secure inference over %d shares", len(files))
	}
	return printPrediction(stdout, fmt.Sprintf("%s on %d test rows of %s (%s)", cfg.Name, pred.Rows, cfg.Dataset.Name, how), pred, *out)
}

// predictDeployed evaluates this party's share of a shared model with its peers,
// each running `node predict --config` with its own share file.
func predictDeployed(ctx context.Context, configPath string, models []string, logLevel, out string, stdout, stderr io.Writer) error {
	if len(models) != 1 {
		return fmt.Errorf("predict --config: give this party's share file only (one --model)")
	}
	share, err := report.LoadModel(models[0])
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, logLevel)
	if err != nil {
		return err
	}
	nc, err := run.LoadNodeConfig(configPath)
	if err != nil {
		return err
	}
	if nc.Role != run.RoleParty {
		return fmt.Errorf("predict --config: the config is for a %s node; the dealer runs `node dealer`", nc.Role)
	}
	pred, err := run.PredictDeployed(ctx, nc, share, run.NodeOptions{Log: log})
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%s, party %d: secure inference with the peers on %d test rows (only totals opened)", share.Config.Name, nc.Party, pred.Rows)
	return printPrediction(stdout, what, pred, out)
}

func printPrediction(stdout io.Writer, what string, pred *run.Prediction, out string) error {
	fmt.Fprintln(stdout, what)
	raw, _ := json.MarshalIndent(pred.Metrics, "", "  ")
	fmt.Fprintln(stdout, string(raw))
	if out != "" {
		return report.WriteJSON(out, pred)
	}
	return nil
}

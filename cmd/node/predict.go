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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkArgs(fs, map[string]string{"model": models.String()}); err != nil {
		return err
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
	fmt.Fprintf(stdout, "%s on %d test rows of %s (%s)\n", cfg.Name, pred.Rows, cfg.Dataset.Name, how)
	raw, _ := json.MarshalIndent(pred.Metrics, "", "  ")
	fmt.Fprintln(stdout, string(raw))
	if *out != "" {
		if err := report.WriteJSON(*out, pred); err != nil {
			return err
		}
	}
	return nil
}

package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/serve"
	"github.com/tessera-mpc/tessera/party/serve/client"
)

type queryFlags struct {
	server, input, dataset, out, fingerprint, token, tokenFile, expect, output, cpuProfile string
	batch, parallel, rows                                                                  int
}

func queryNode(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f queryFlags
	fs.StringVar(&f.server, "server", "", "URL of any serving party, https://HOST:PORT")
	fs.StringVar(&f.input, "input", "", "CSV of feature rows (a header row is skipped)")
	fs.StringVar(&f.dataset, "dataset", "", "instead of --input: the test rows of a built-in dataset (mnist, ...)")
	fs.StringVar(&f.out, "out", "", "write the outputs and the predicted class of every row as CSV here (default: the classes on stdout)")
	fs.StringVar(&f.fingerprint, "fingerprint", "", "pin the server's certificate to this SHA-256 fingerprint (hex, as node serve prints it)")
	fs.StringVar(&f.token, "token", "", "bearer token")
	fs.StringVar(&f.tokenFile, "token-file", "", "read the bearer token from this file")
	fs.StringVar(&f.expect, "expect", "", "a plain model.json: report how many predictions equal its predictions")
	fs.IntVar(&f.batch, "batch", 0, "rows per query (default: the service's limit)")
	fs.IntVar(&f.parallel, "parallel", 4, "queries in flight: the client's encryption and upload of one overlap the parties' two stages (shares, inference) of two others")
	fs.IntVar(&f.rows, "rows", 0, "query only the first N rows")
	fs.StringVar(&f.output, "output", "logits", "what the parties compute: logits (the model's outputs), probabilities (softmax, or sigmoid, for a classifier) or argmax (the class alone, for a model of several outputs)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the client (encryption, HTTP, decryption) to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkArgs(fs, map[string]string{"server": f.server}); err != nil {
		return err
	}
	if (f.input == "") == (f.dataset == "") {
		return fmt.Errorf("%s: give --input FILE.csv or --dataset NAME", name)
	}
	if f.tokenFile != "" {
		raw, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return err
		}
		f.token = strings.TrimSpace(string(raw))
	}
	rows, err := queryRows(f)
	if err != nil {
		return err
	}
	if f.rows > 0 && f.rows < len(rows) {
		rows = rows[:f.rows]
	}
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	cl, err := client.Dial(ctx, f.server, client.Options{Fingerprint: f.fingerprint, Token: f.token, Output: f.output})
	if err != nil {
		return err
	}
	outs, st, err := runQueries(ctx, cl, rows, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "query: %d rows in %d queries of up to %d rows: %.2f s, %.0f predictions/s; latency per query median %.3f s, max %.3f s\n",
		len(rows), len(st.latencies), st.batch, st.wall.Seconds(), float64(len(rows))/st.wall.Seconds(), st.median().Seconds(), slices.Max(st.latencies).Seconds())
	classOf := argmax
	if f.output == serve.OutputArgmax {
		classOf = decodedClass
	}
	if f.expect != "" {
		if err := reportAgreement(f.expect, rows, outs, classOf, stdout); err != nil {
			return err
		}
	}
	return writePredictions(f.out, outs, classOf, f.output == serve.OutputArgmax, stdout)
}

// queryRows reads the rows to query.
func queryRows(f queryFlags) ([][]float64, error) {
	if f.dataset == "mnist" { // the 10,000 test images, without the training set as float64
		_, test, err := dataset.LoadMNISTRows(dataset.LoadOptions{}, 1, 10000, nil)
		if err != nil {
			return nil, err
		}
		return test.X, nil
	}
	if f.dataset != "" {
		cfg := experiment.Config{Dataset: experiment.DatasetConfig{Name: f.dataset}}
		test, err := experiment.LoadTestSet(&cfg)
		if err != nil {
			return nil, err
		}
		return test.X, nil
	}
	file, err := os.Open(f.input)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return readFeatureCSV(file)
}

// readFeatureCSV reads numeric rows; a first row that is not numeric is a header.
func readFeatureCSV(r io.Reader) ([][]float64, error) {
	cr := csv.NewReader(r)
	var rows [][]float64
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		row := make([]float64, len(rec))
		for j, s := range rec {
			if row[j], err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
				break
			}
		}
		if err != nil {
			if line == 1 {
				continue // header
			}
			return nil, fmt.Errorf("input line %d: %w", line, err)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("the input has no rows")
	}
	return rows, nil
}

type queryStats struct {
	batch     int
	wall      time.Duration
	latencies []time.Duration
}

func (s queryStats) median() time.Duration {
	l := slices.Clone(s.latencies)
	slices.Sort(l)
	return l[len(l)/2]
}

// runQueries sends the rows in batches, up to f.parallel at a time.
func runQueries(ctx context.Context, cl *client.Client, rows [][]float64, f queryFlags) ([][]float64, queryStats, error) {
	st := queryStats{batch: cl.Info().MaxRows}
	if f.batch > 0 && f.batch < st.batch {
		st.batch = f.batch
	}
	n := (len(rows) + st.batch - 1) / st.batch
	outs := make([][][]float64, n)
	st.latencies = make([]time.Duration, n)
	errs := make([]error, n)
	sem := make(chan struct{}, max(1, f.parallel))
	var wg sync.WaitGroup
	start := time.Now()
	for b := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t := time.Now()
			outs[b], errs[b] = cl.Predict(ctx, rows[b*st.batch:min((b+1)*st.batch, len(rows))])
			st.latencies[b] = time.Since(t)
		})
	}
	wg.Wait()
	st.wall = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, st, err
	}
	return slices.Concat(outs...), st, nil
}

func argmax(v []float64) int {
	best := 0
	for j, x := range v {
		if x > v[best] {
			best = j
		}
	}
	return best
}

// decodedClass is the class of an argmax answer: its one value.
func decodedClass(v []float64) int { return int(math.Round(v[0])) }

// reportAgreement compares the decrypted predictions with a plain model's.
func reportAgreement(path string, rows, outs [][]float64, classOf func([]float64) int, stdout io.Writer) error {
	f, err := report.LoadModel(path)
	if err != nil {
		return err
	}
	if len(f.Layers) == 0 {
		return errors.New("--expect: give a plain model.json")
	}
	spec, err := f.Config.Spec(f.Layers[0].In)
	if err != nil {
		return err
	}
	x := rows
	if f.Scaler != nil {
		x = f.Scaler.Apply(x)
	}
	same := 0
	for from := 0; from < len(x); from += 1024 {
		to := min(from+1024, len(x))
		want := nn.Predict(spec, f.Params(), experiment.DenseOf(x[from:to], spec.Inputs))
		for i := from; i < to; i++ {
			if classOf(outs[i]) == argmax(want.RawRowView(i-from)) {
				same++
			}
		}
	}
	fmt.Fprintf(stdout, "agreement with the plaintext model: %d of %d (%.2f%%)\n", same, len(rows), 100*float64(same)/float64(len(rows)))
	return nil
}

// writePredictions writes every row's outputs and class (CSV) to path, or the
// classes to stdout; an argmax answer has the class alone.
func writePredictions(path string, outs [][]float64, classOf func([]float64) int, classOnly bool, stdout io.Writer) error {
	if path == "" {
		for _, o := range outs {
			fmt.Fprintln(stdout, classOf(o))
		}
		return nil
	}
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(file)
	header := []string{"prediction"}
	for j := range outs[0] {
		if !classOnly {
			header = append(header, fmt.Sprintf("output_%d", j))
		}
	}
	w.Write(header)
	for _, o := range outs {
		rec := []string{strconv.Itoa(classOf(o))}
		for _, v := range o {
			if !classOnly {
				rec = append(rec, strconv.FormatFloat(v, 'g', 8, 64))
			}
		}
		w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		file.Close()
		return err
	}
	return file.Close()
}

package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/report"
	"github.com/tessera-mpc/tessera/party/run"
	"github.com/tessera-mpc/tessera/party/serve"
	"github.com/tessera-mpc/tessera/protocol/he"
)

// serveFlags are node serve's settings beyond the node config.
type serveFlags struct {
	config, model, listen, cert, key, tokens, metrics, fingerprintOut, logLevel, cpuProfile string
	queue, maxRows                                                                          int
}

func serveNode(ctx context.Context, name string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f serveFlags
	fs.StringVar(&f.config, "config", "", "node config (as for `node run`)")
	fs.StringVar(&f.model, "model", "", "model directory as training wrote it: model.json, or this party's model-share-<party>.json")
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8443", "HTTPS address for clients")
	fs.StringVar(&f.cert, "tls-cert", "", "TLS certificate (PEM); default: a self-signed one kept in the node's directory")
	fs.StringVar(&f.key, "tls-key", "", "TLS private key (PEM), with --tls-cert")
	fs.StringVar(&f.tokens, "tokens", "", "client token list: one token a line, optionally followed by an RFC 3339 expiry")
	fs.StringVar(&f.metrics, "metrics", "", "address of the Prometheus metrics endpoint (/metrics), none when empty")
	fs.StringVar(&f.fingerprintOut, "fingerprint-out", "", "write the certificate's fingerprint to this file once serving")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole session to this file (go tool pprof)")
	fs.IntVar(&f.queue, "queue", serve.DefaultQueue, "queries waiting beyond the one computed; more are refused as busy")
	fs.IntVar(&f.maxRows, "max-rows", serve.DefaultMaxRows, "rows of one query")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkArgs(fs, map[string]string{"config": f.config, "model": f.model}); err != nil {
		return err
	}
	log, err := newLogger(stderr, f.logLevel)
	if err != nil {
		return err
	}
	nc, err := run.LoadNodeConfig(f.config)
	if err != nil {
		return err
	}
	model, err := loadServedModel(f.model, nc.Party)
	if err != nil {
		return err
	}
	exp, err := nc.ServeExperiment(run.NodeOptions{})
	if err != nil {
		return err
	}
	if err := checkModelMatches(exp, model); err != nil {
		return fmt.Errorf("--model %s: %w", f.model, err)
	}
	var tokens *serve.Tokens
	if f.tokens != "" {
		if tokens, err = serve.LoadTokens(f.tokens); err != nil {
			return err
		}
	}
	cert, fingerprint, err := serve.Certificate(f.cert, f.key, filepath.Dir(f.config), []string{"127.0.0.1", "localhost"})
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	return run.Serve(ctx, nc, run.NodeOptions{Log: log}, func(ctx context.Context, s *run.ServeSession) error {
		svc, err := newService(s, model, f)
		if err != nil {
			return err
		}
		return serveHTTP(ctx, svc, f, tokens, cert, fingerprint, stdout)
	})
}

// startCPUProfile profiles the process into path until stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	file, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		file.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); file.Close() }, nil
}

// loadServedModel reads DIR/model.json, or this party's share file.
func loadServedModel(dir string, party int) (*report.ModelFile, error) {
	plain := filepath.Join(dir, "model.json")
	if _, err := os.Stat(plain); err == nil {
		return report.LoadModel(plain)
	}
	share := filepath.Join(dir, fmt.Sprintf("model-share-%d.json", party))
	if _, err := os.Stat(share); err != nil {
		return nil, fmt.Errorf("--model %s: neither model.json nor model-share-%d.json is there", dir, party)
	}
	return report.LoadModel(share)
}

// modelInputs is the number of features the model file's network takes (0
// for a file without weights, which every check then refuses).
func modelInputs(f *report.ModelFile) int {
	switch {
	case f.Shares != nil && len(f.Shares.W) > 0 && len(f.Shares.W[0].Shape) == 2:
		return f.Shares.W[0].Shape[0]
	case len(f.Layers) > 0:
		return f.Layers[0].In
	}
	return 0
}

// checkModelMatches compares the model file's network with the one the
// node's experiment defines: the input width (when the experiment fixes it),
// every layer's weight shape and activation, and the loss (which decides the
// outputs a client may ask for). The file was checked against its own config
// when loaded; this catches a model trained for another experiment.
func checkModelMatches(exp *experiment.Config, f *report.ModelFile) error {
	features := modelInputs(f)
	if shape, ok := f.Config.ImageShape(); ok {
		features = shape.Size()
	}
	if shape, ok := exp.ImageShape(); ok && shape.Size() != features {
		return fmt.Errorf("the model takes %d features, the node's experiment %q %d", features, exp.Name, shape.Size())
	}
	want, err := exp.Spec(features)
	if err != nil {
		return fmt.Errorf("the node's experiment %q: %w", exp.Name, err)
	}
	have, err := f.Config.Spec(features)
	if err != nil {
		return err
	}
	if want.Input != have.Input {
		return fmt.Errorf("the model takes images of %v, the node's experiment %q %v", have.Input, exp.Name, want.Input)
	}
	ws, err := want.ParamShapes()
	if err != nil {
		return err
	}
	hs, err := have.ParamShapes()
	if err != nil {
		return err
	}
	if len(ws) != len(hs) || len(want.Layers) != len(have.Layers) {
		return fmt.Errorf("the model has %d layers (%d of weights), the node's experiment %q %d (%d)", len(have.Layers), len(hs), exp.Name, len(want.Layers), len(ws))
	}
	for l := range ws {
		if ws[l] != hs[l] {
			return fmt.Errorf("weights %d are %dx%d in the model, %dx%d in the node's experiment %q", l, hs[l][0], hs[l][1], ws[l][0], ws[l][1], exp.Name)
		}
	}
	for l := range want.Layers {
		w, h := want.Layers[l], have.Layers[l]
		if w.Type != h.Type || w.Activation.Name != h.Activation.Name {
			return fmt.Errorf("layer %d is %s %s in the model, %s %s in the node's experiment %q", l, layerType(h), h.Activation.Name, layerType(w), w.Activation.Name, exp.Name)
		}
	}
	if want.Loss != have.Loss {
		return fmt.Errorf("the model was trained with loss %q, the node's experiment has %q", have.Loss, want.Loss)
	}
	return nil
}

func layerType(l nn.Layer) string {
	if l.Type == "" {
		return nn.LayerDense
	}
	return l.Type
}

// newService builds the party's model on its engine and the service.
func newService(s *run.ServeSession, f *report.ModelFile, flags serveFlags) (*serve.Service, error) {
	if f.Shares != nil {
		if f.Shares.Party != s.Self || f.Shares.Parties != s.Parties {
			return nil, fmt.Errorf("the share file is party %d's of %d, this node is party %d of %d", f.Shares.Party, f.Shares.Parties, s.Self, s.Parties)
		}
		if f.Shares.Precision != s.Config.Precision {
			return nil, fmt.Errorf("the share file has %d fractional bits, the experiment %d", f.Shares.Precision, s.Config.Precision)
		}
	}
	spec, err := f.Config.Spec(modelInputs(f))
	if err != nil {
		return nil, err
	}
	var net *nn.Secure
	if f.Shares != nil {
		net, err = nn.SecureFromShares(s.Engine, spec, f.Shares.W, f.Shares.B)
	} else {
		net, err = nn.NewSecure(s.Engine, spec, f.Params()) // a revealed model: every party holds it
	}
	if err != nil {
		return nil, err
	}
	qp, err := he.NewQueryParty(s.Keys, nil)
	if err != nil {
		return nil, err
	}
	cfg := serve.Config{Self: s.Self, Parties: s.Parties, PeerIDs: s.PeerIDs, Engine: s.Engine, Keys: qp,
		Control: s.Control, Answers: s.Answers, Forward: s.Forward, Net: net, ModelName: f.Config.Name, MaxRows: flags.maxRows, Queue: flags.queue}
	if f.Scaler != nil {
		cfg.ScalerMean, cfg.ScalerStd = f.Scaler.Mean, f.Scaler.Std
	}
	if f.Shares == nil { // every party holds the model: its products are local
		params := f.Params()
		cfg.Public = &params
	}
	return serve.New(cfg)
}

// serveHTTP serves clients (and metrics) while the service runs.
func serveHTTP(ctx context.Context, svc *serve.Service, f serveFlags, tokens *serve.Tokens, cert tls.Certificate, fingerprint string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: svc.Handler(tokens), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, IdleTimeout: time.Minute,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}}
	go srv.ServeTLS(ln, "", "")
	defer srv.Close()
	if f.metrics != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", svc.MetricsHandler())
		ms := &http.Server{Addr: f.metrics, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		mln, err := net.Listen("tcp", f.metrics)
		if err != nil {
			return err
		}
		go ms.Serve(mln)
		defer ms.Close()
	}
	info := svc.Info()
	fmt.Fprintf(stdout, "party %d of %d: serving %s (%d features -> %d outputs) on https://%s, certificate fingerprint %s\n",
		info.Self, info.Parties, info.Model, info.Features, info.Outputs, ln.Addr(), fingerprint)
	if f.fingerprintOut != "" {
		if err := os.WriteFile(f.fingerprintOut, []byte(fingerprint+"\n"), 0o644); err != nil {
			return err
		}
	}
	return svc.Run(ctx)
}

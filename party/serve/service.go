package serve

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/he"
	"github.com/tessera-mpc/tessera/sharing"
)

// Config is one serving party.
type Config struct {
	Self, Parties int
	PeerIDs       []string
	Engine        *protocol.Engine
	Keys          *he.QueryParty
	// Control carries the leader's queries and the masked shares, Answers the
	// answer shares (so that one query's answers and the next one's shares
	// never interleave), Forward the queries posted to another party than the
	// leader. None is shared with anything else.
	Control, Answers, Forward protocol.Transport
	Net                       *nn.Secure // this party's share of the model (or the public model)
	// Public is the model in the clear when every party holds it (a revealed
	// model): products by its weights are then local (public_model.go).
	Public     *nn.Params
	ModelName  string
	ScalerMean []float64
	ScalerStd  []float64
	MaxRows    int // default DefaultMaxRows
	Queue      int // queries waiting beyond the one computed; default DefaultQueue
}

// Defaults.
const (
	DefaultMaxRows = 1024
	DefaultQueue   = 8
	// inferChunk bounds the rows of one secure forward pass, and so the
	// material one request asks for.
	inferChunk = 1024
)

// leader is the party that sequences queries.
const leader = 0

// Service is one party's end of the prediction service.
type Service struct {
	cfg    Config
	info   Info
	key    []byte
	digest [32]byte
	limits Limits
	jobs   chan *job

	mu     sync.Mutex
	failed error // set once the parties may be out of step: no more queries

	fwd    *forwarder
	m      *metrics
	public *publicModel // nil: the model runs as cfg.Net
	// reading bounds the query bodies held at once (read, or waiting for an
	// answer), so that many clients cannot make a party hold many large bodies.
	reading chan struct{}
}

type job struct {
	q    *Query
	done chan result
	// since is when the job's current stage began (the stage metric).
	since time.Time
}

// stage records the time since the job's last stage ended as stage's.
func (j *job) stage(m *metrics, stage string) {
	now := time.Now()
	m.stages.WithLabelValues(stage).Observe(now.Sub(j.since).Seconds())
	j.since = now
}

// result is a query's outcome: an answer body, or an error with its HTTP status.
type result struct {
	body   []byte
	status int
	err    error
}

// New makes a party's service. Run must then run on every party.
func New(cfg Config) (*Service, error) {
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = DefaultMaxRows
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	spec := cfg.Net.Spec
	if spec.Inputs > he.MaxValues || spec.Outputs() > he.MaxValues {
		return nil, fmt.Errorf("serve: a model of %d inputs and %d outputs does not fit a ciphertext of %d values", spec.Inputs, spec.Outputs(), he.MaxValues)
	}
	if cfg.Control == nil || cfg.Answers == nil || cfg.Forward == nil {
		return nil, errors.New("serve: the control, answers and forward channels are all needed")
	}
	key := cfg.Keys.Key()
	s := &Service{cfg: cfg, key: key.Bytes(), digest: key.Digest(), jobs: make(chan *job, cfg.Queue), m: newMetrics()}
	s.limits = Limits{Features: spec.Inputs, MaxRows: cfg.MaxRows, KeyDigest: s.digest, Outputs: outputKinds(spec)}
	s.info = Info{
		Model: cfg.ModelName, Features: spec.Inputs, Outputs: spec.Outputs(), FracBits: cfg.Engine.Codec().FracBits,
		MaxRows: cfg.MaxRows, Parties: cfg.Parties, Self: cfg.Self, PeerIDs: cfg.PeerIDs,
		KeyDigest: hex.EncodeToString(s.digest[:]), ScalerMean: cfg.ScalerMean, ScalerStd: cfg.ScalerStd,
		Ciphertext: he.QueryCiphertextBytes(), ClientKey: he.ClientPublicKeyBytes(),
		ValuesPerCt: he.MaxValues,
		OutputKinds: s.limits.Outputs,
	}
	if m, ok := cfg.Control.(interface{ MaxMessageBytes() int }); ok && m.MaxMessageBytes() > 0 {
		if need := 1 + queryBytes(MaxMetaBytes, ciphertextsFor(cfg.MaxRows, spec.Inputs), he.C1Bytes()); need > m.MaxMessageBytes() {
			return nil, fmt.Errorf("serve: a query of %d rows takes %d bytes between parties, above the transport's %d: lower the row limit", cfg.MaxRows, need, m.MaxMessageBytes())
		}
	}
	if cfg.Public != nil {
		var err error
		if s.public, err = newPublicModel(cfg.Engine.Codec(), spec, *cfg.Public); err != nil {
			return nil, err
		}
	}
	s.reading = make(chan struct{}, cfg.Queue+2)
	s.fwd = newForwarder(s)
	return s, nil
}

// outputKinds are the answers a model gives: logits always, probabilities
// for a classifier trained with cross-entropy, the argmax for a model of
// several outputs.
func outputKinds(spec nn.Spec) []string {
	kinds := []string{OutputLogits}
	if spec.CrossEntropy() {
		kinds = append(kinds, OutputProbabilities)
	}
	if spec.Outputs() > 1 {
		kinds = append(kinds, OutputArgmax)
	}
	return kinds
}

// Info is what the service tells clients.
func (s *Service) Info() Info { return s.info }

// errStopped is wrapped by the error of every query after a failure among the
// parties.
var errStopped = errors.New("the service stopped after a failure among the parties")

func (s *Service) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed == nil {
		s.failed = err
	}
}

func (s *Service) stopped() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return fmt.Errorf("%w: %v", errStopped, s.failed)
	}
	return nil
}

// Run serves queries until ctx ends or the parties fail: the leader computes
// the queued ones with the others, each other party follows the leader.
func (s *Service) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go s.fwd.run(ctx)
	var err error
	if s.cfg.Self == leader {
		err = s.lead(ctx)
	} else {
		err = s.follow(ctx)
	}
	if err != nil {
		s.fail(err)
	}
	return err
}

// Control messages from the leader.
const (
	msgQuery byte = 'Q'
	msgEnd   byte = 'E'
)

// drain answers every queued query with the service's stop.
func (s *Service) drain() {
	for {
		select {
		case j := <-s.jobs:
			err := s.stopped()
			if err == nil {
				err = errors.New("the service is shutting down")
			}
			j.done <- result{status: 503, err: err}
		default:
			return
		}
	}
}

func (s *Service) broadcast(ctx context.Context, msg []byte) error {
	for j := range s.cfg.Parties {
		if j == s.cfg.Self {
			continue
		}
		if err := s.cfg.Control.Send(ctx, j, msg); err != nil {
			return fmt.Errorf("sending the query to party %d: %w", j, err)
		}
	}
	return nil
}

// recvExact receives one message of exactly n bytes from party j on tr.
func (s *Service) recvExact(ctx context.Context, tr protocol.Transport, j, n int, what string) ([]byte, error) {
	m, err := tr.Recv(ctx, j)
	if err != nil {
		return nil, fmt.Errorf("waiting for the %s of party %d: %w", what, j, err)
	}
	if len(m) != n {
		return nil, fmt.Errorf("party %d sent %s of %d bytes, want %d", j, what, len(m), n)
	}
	return m, nil
}

// sumAnswers adds every party's answer ciphertexts to the leader's.
func (s *Service) sumAnswers(ctx context.Context, q *Query, mine []*he.Ciphertext) ([]byte, error) {
	outs := AnswerOutputs(outputOf(q), s.cfg.Net.Spec.Outputs())
	cb := he.CiphertextBytes()
	all := make([][]*he.Ciphertext, len(mine))
	for k := range all {
		all[k] = []*he.Ciphertext{mine[k]}
	}
	for j := range s.cfg.Parties {
		if j == s.cfg.Self {
			continue
		}
		m, err := s.recvExact(ctx, s.cfg.Answers, j, len(mine)*cb, "answer shares")
		if err != nil {
			return nil, err
		}
		for k := range mine {
			ct, err := he.ParseCiphertext(m[k*cb : (k+1)*cb])
			if err != nil {
				return nil, fmt.Errorf("answer share %d of party %d: %w", k, j, err)
			}
			all[k] = append(all[k], ct)
		}
	}
	sums := make([]*he.Ciphertext, len(mine))
	for k := range sums {
		var err error
		if sums[k], err = he.SumAnswers(all[k]...); err != nil {
			return nil, err
		}
	}
	meta := AnswerMeta{Rows: q.Meta.Rows, Outputs: outs, Ciphertexts: len(sums), FracBits: s.info.FracBits, Output: outputOf(q)}
	return EncodeAnswer(meta, sums), nil
}

func outputOf(q *Query) string {
	if q.Meta.Output == "" {
		return OutputLogits
	}
	return q.Meta.Output
}

// inferAndEncrypt runs the model on the shared rows x (and the softmax, or
// sigmoid, when the query asks for probabilities) and encrypts this party's
// output shares under the client's key.
func (s *Service) inferAndEncrypt(ctx context.Context, x sharing.Tensor, q *Query) ([]*he.Ciphertext, error) {
	rows, w := x.Rows(), x.Cols()
	client := q.Client
	var parts []sharing.Tensor
	for from := 0; from < rows; from += inferChunk {
		to := min(from+inferChunk, rows)
		chunk := sharing.Tensor{Shape: []int{to - from, w}, Data: x.Data[from*w : to*w]}
		out, err := s.forward(ctx, chunk)
		if err == nil {
			out, err = s.outputFrom(ctx, out, outputOf(q))
		}
		if err != nil {
			return nil, fmt.Errorf("secure inference: %w", err)
		}
		parts = append(parts, out)
	}
	y := sharing.ConcatRows(parts...)
	outs := y.Cols()
	answers := make([]*he.Ciphertext, ciphertextsFor(rows, outs))
	err := parallelFor(len(answers), func(k int) error {
		var err error
		from := k * he.MaxValues
		answers[k], err = s.cfg.Keys.EncryptAnswer(client, y.Data[from:from+valuesIn(k, rows, outs)])
		return err
	})
	return answers, err
}

// forward runs the model on shared rows.
func (s *Service) forward(ctx context.Context, x sharing.Tensor) (sharing.Tensor, error) {
	if s.public != nil {
		return s.public.forward(ctx, s.cfg.Engine, x)
	}
	return s.cfg.Net.Forward(ctx, x)
}

// outputFrom turns the model's output shares into the answer asked for.
func (s *Service) outputFrom(ctx context.Context, out sharing.Tensor, kind string) (sharing.Tensor, error) {
	switch {
	case kind == OutputArgmax:
		return argmaxRows(ctx, s.cfg.Engine, out)
	case kind == OutputProbabilities && s.cfg.Net.Spec.Binary():
		return s.cfg.Engine.Sigmoid(ctx, out)
	case kind == OutputProbabilities:
		return s.cfg.Engine.Softmax(ctx, out)
	}
	return out, nil
}

// parallelFor runs fn(0..n-1) on up to GOMAXPROCS goroutines and returns the
// first error.
func parallelFor(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			errs[i] = fn(i)
			<-sem
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

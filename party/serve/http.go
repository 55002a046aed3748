package serve

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler is the service's HTTP API:
//
//	GET  /v1/info   JSON Info
//	GET  /v1/key    the collective query key (binary)
//	POST /v1/query  a query body (see wire.go); the answer body, or JSON {"error": ...}
//
// tokens, when not nil, are required as "Authorization: Bearer TOKEN" on
// every endpoint.
func (s *Service) Handler(tokens *Tokens) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s.info)
	})
	mux.HandleFunc("GET /v1/key", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(s.key)
	})
	mux.HandleFunc("POST /v1/query", s.serveQuery)
	return s.m.instrument(tokens.require(mux))
}

// maxQueryBody is the largest query body the limits admit.
func (s *Service) maxQueryBody() int64 {
	return int64(QueryBytes(MaxMetaBytes, ciphertextsFor(s.limits.MaxRows, s.limits.Features)))
}

func (s *Service) serveQuery(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if err := s.stopped(); err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	select {
	case s.reading <- struct{}{}:
		defer func() { <-s.reading }()
	default:
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("busy: %d queries are being received or answered; retry later", cap(s.reading)))
		return
	}
	max := s.maxQueryBody()
	if r.ContentLength < 0 || r.ContentLength > max {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Errorf("%w: a query body must state its length, at most %d bytes (%d rows)", ErrBadRequest, max, s.limits.MaxRows))
		return
	}
	body := make([]byte, r.ContentLength) // bounded above
	if _, err := io.ReadFull(http.MaxBytesReader(w, r.Body, max), body); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: reading the body: %v", ErrBadRequest, err))
		return
	}
	res := s.answer(r.Context(), body)
	if res.err != nil {
		writeError(w, res.status, res.err)
		return
	}
	s.m.latency.Observe(time.Since(start).Seconds())
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(res.body)
}

// answer validates a query body and computes it: on the leader in its queue,
// elsewhere by forwarding it to the leader.
func (s *Service) answer(ctx context.Context, body []byte) result {
	q, err := DecodeQuery(body, s.limits)
	if err != nil {
		return result{status: http.StatusBadRequest, err: err}
	}
	if s.cfg.Self != leader {
		return s.fwd.forward(ctx, body)
	}
	if err := s.stopped(); err != nil {
		return result{status: http.StatusServiceUnavailable, err: err}
	}
	j := &job{q: q, done: make(chan result, 1), since: time.Now()}
	select {
	case s.jobs <- j:
		s.m.queue.Inc()
	default:
		return result{status: http.StatusServiceUnavailable, err: fmt.Errorf("busy: %d queries are waiting; retry later", cap(s.jobs))}
	}
	r := <-j.done // the leader answers every job it dequeues, and drains the rest when it stops
	if r.err == nil {
		s.m.rows.Add(float64(q.Meta.Rows))
	}
	return r
}

func writeError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// metrics are the service's Prometheus metrics, on their own registry.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  prometheus.Histogram
	rows     prometheus.Counter
	queue    prometheus.Gauge
	// stages times the leader's steps of a query (stageQueued ... stageAnswers),
	// to tell where a query's latency goes.
	stages *prometheus.HistogramVec
}

// Stages of a query at the leader, as the stage metric labels them.
const (
	stageQueued  = "queued"  // waiting in the queue
	stageShares  = "shares"  // sending it to the others, their masked shares, aggregation
	stageWaiting = "waiting" // shares ready, waiting for the engine
	stageInfer   = "infer"   // the secure forward pass and the answer encryption
	stageAnswers = "answers" // waiting for the others' answer shares and summing them
)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tessera_serve_requests_total",
			Help: "HTTP requests by path and status code."}, []string{"path", "code"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tessera_serve_query_seconds",
			Help: "Time to answer a successful query, from its arrival.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		rows:  prometheus.NewCounter(prometheus.CounterOpts{Name: "tessera_serve_rows_total", Help: "Rows answered."}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tessera_serve_queue", Help: "Queries waiting for the leader."}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tessera_serve_stage_seconds",
			Help:    "Time a query spends in each of the leader's stages: queued, shares, waiting, infer, answers.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"stage"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.rows, m.queue, m.stages)
	return m
}

// MetricsHandler serves the metrics in the Prometheus text format.
func (s *Service) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) { r.code = code; r.ResponseWriter.WriteHeader(code) }

func (m *metrics) instrument(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		h.ServeHTTP(rec, r)
		path := r.URL.Path
		switch path {
		case "/v1/info", "/v1/key", "/v1/query":
		default:
			path = "other" // bounded label values
		}
		m.requests.WithLabelValues(path, strconv.Itoa(rec.code)).Inc()
	})
}

// Tokens is a client token list: each token with an optional expiry.
type Tokens struct {
	hashes  [][32]byte
	expires []time.Time // zero: never
	now     func() time.Time
}

// LoadTokens reads a token list: one token a line, optionally followed by an
// RFC 3339 expiry; blank lines and lines starting with # are skipped.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &Tokens{now: time.Now}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		var exp time.Time
		if len(fields) > 2 {
			return nil, fmt.Errorf("%s:%d: want TOKEN [EXPIRY]", path, line)
		}
		if len(fields) == 2 {
			if exp, err = time.Parse(time.RFC3339, fields[1]); err != nil {
				return nil, fmt.Errorf("%s:%d: expiry: %w", path, line, err)
			}
		}
		t.hashes = append(t.hashes, sha256.Sum256([]byte(fields[0])))
		t.expires = append(t.expires, exp)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(t.hashes) == 0 {
		return nil, fmt.Errorf("%s: no tokens", path)
	}
	return t, nil
}

var errToken = errors.New("unauthorized")

// check accepts a bearer header value of a listed, unexpired token.
func (t *Tokens) check(header string) error {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return fmt.Errorf("%w: missing bearer token", errToken)
	}
	h := sha256.Sum256([]byte(tok))
	found := -1
	for i, x := range t.hashes { // compare with every token, in constant time each
		if subtle.ConstantTimeCompare(h[:], x[:]) == 1 {
			found = i
		}
	}
	switch {
	case found < 0:
		return fmt.Errorf("%w: unknown token", errToken)
	case !t.expires[found].IsZero() && t.now().After(t.expires[found]):
		return fmt.Errorf("%w: token expired at %s", errToken, t.expires[found].Format(time.RFC3339))
	}
	return nil
}

func (t *Tokens) require(h http.Handler) http.Handler {
	if t == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := t.check(r.Header.Get("Authorization")); err != nil {
			writeError(w, http.StatusUnauthorized, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

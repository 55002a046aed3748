// Package client is the client of an encrypted prediction service (package
// serve, `node serve`): it makes a key pair, encrypts feature rows under the
// parties' collective key, posts them to one party and decrypts the answer.
// No party sees the rows or the predictions.
package client

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"

	"github.com/tessera-mpc/tessera/party/serve"
	"github.com/tessera-mpc/tessera/protocol/he"
	"github.com/tessera-mpc/tessera/sharing"
)

// Options configure a client.
type Options struct {
	// Fingerprint pins the server's certificate (hex SHA-256 of its DER), as
	// `node serve` prints it; empty: the system's roots verify it.
	Fingerprint string
	// Token is sent as a bearer token.
	Token string
	// HTTP replaces the default HTTP client (Fingerprint is then ignored).
	HTTP *http.Client
	// Output is what to ask for: serve.OutputLogits (default),
	// serve.OutputProbabilities (classifiers trained with cross-entropy) or
	// serve.OutputArgmax (models of several outputs: Predict then returns one
	// value a row, the class index, the lowest among equal maxima).
	Output string
}

// Client talks to one party of a service.
type Client struct {
	base   string
	hc     *http.Client
	token  string
	info   serve.Info
	key    *he.QueryKey
	mine   *he.ClientKey
	codec  sharing.Codec
	output string
}

// maxInfoBytes bounds the info document a server may send.
const maxInfoBytes = 1 << 20

// Dial fetches the service's description and collective key from the party
// at url and makes the client's key pair.
func Dial(ctx context.Context, url string, opts Options) (*Client, error) {
	hc := opts.HTTP
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if opts.Fingerprint != "" {
			tr.TLSClientConfig = serve.PinnedTLS(strings.ToLower(opts.Fingerprint))
		}
		hc = &http.Client{Transport: tr}
	}
	c := &Client{base: strings.TrimRight(url, "/"), hc: hc, token: opts.Token, output: opts.Output}
	raw, err := c.get(ctx, "/v1/info", maxInfoBytes)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &c.info); err != nil {
		return nil, fmt.Errorf("client: the service's info: %w", err)
	}
	if err := c.checkInfo(); err != nil {
		return nil, err
	}
	raw, err = c.get(ctx, "/v1/key", int64(he.QueryKeyBytes()))
	if err != nil {
		return nil, err
	}
	if c.key, err = he.ParseQueryKey(raw); err != nil {
		return nil, fmt.Errorf("client: the service's key: %w", err)
	}
	d := c.key.Digest()
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(d[:])), []byte(c.info.KeyDigest)) != 1 {
		return nil, errors.New("client: the service's key does not match the digest it announced")
	}
	if c.mine, err = he.NewClientKey(nil); err != nil {
		return nil, err
	}
	c.codec = sharing.Codec{FracBits: c.info.FracBits}
	return c, nil
}

func (c *Client) checkInfo() error {
	i := c.info
	switch {
	case i.Features < 1 || i.Features > he.MaxValues || i.Outputs < 1 || i.Outputs > he.MaxValues:
		return fmt.Errorf("client: the service announces %d features and %d outputs", i.Features, i.Outputs)
	case i.MaxRows < 1:
		return fmt.Errorf("client: the service announces a limit of %d rows", i.MaxRows)
	case i.FracBits < 1 || i.FracBits > 40:
		return fmt.Errorf("client: the service announces %d fractional bits", i.FracBits)
	case i.ScalerMean != nil && (len(i.ScalerMean) != i.Features || len(i.ScalerStd) != i.Features):
		return errors.New("client: the service's scaler does not match its features")
	}
	return nil
}

// Info is the service's description.
func (c *Client) Info() serve.Info { return c.info }

func (c *Client) do(req *http.Request, limit int64) ([]byte, error) {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error string }
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return nil, &Error{Status: resp.StatusCode, Message: e.Error}
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("client: %s %s: a response over %d bytes", req.Method, req.URL.Path, limit)
	}
	return body, nil
}

// Error is a service's refusal, with its HTTP status.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("service: %s (HTTP %d)", e.Message, e.Status) }

func (c *Client) get(ctx context.Context, path string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	return c.do(req, limit)
}

// Predict returns the model's outputs (logits for a classifier) on rows,
// querying at most the service's MaxRows rows at a time.
func (c *Client) Predict(ctx context.Context, rows [][]float64) ([][]float64, error) {
	var out [][]float64
	for from := 0; from < len(rows); from += c.info.MaxRows {
		part, err := c.predictBatch(ctx, rows[from:min(from+c.info.MaxRows, len(rows))])
		if err != nil {
			return nil, fmt.Errorf("rows %d to %d: %w", from, min(from+c.info.MaxRows, len(rows))-1, err)
		}
		out = append(out, part...)
	}
	return out, nil
}

// EncodeQuery encrypts rows (at most MaxRows) into a query body, one
// ciphertext per GOMAXPROCS goroutine at a time.
func (c *Client) EncodeQuery(rows [][]float64) ([]byte, error) {
	f := c.info.Features
	for i, row := range rows {
		if len(row) != f {
			return nil, fmt.Errorf("client: row %d has %d features, the model takes %d", i, len(row), f)
		}
	}
	cts := make([]*he.Ciphertext, serve.CiphertextsFor(len(rows), f))
	errs := make([]error, len(cts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k := range cts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			cts[k], errs[k] = c.encrypt(rows, k*he.MaxValues, serve.ValuesIn(k, len(rows), f))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	meta := serve.QueryMeta{Rows: len(rows), Features: f, Ciphertexts: len(cts), KeyDigest: c.info.KeyDigest, Output: c.output}
	return serve.EncodeQuery(meta, c.mine.Public(), cts), nil
}

// encrypt standardises (with the service's scaler), encodes and encrypts n
// values of the rows laid end to end, from value first on: one ciphertext.
func (c *Client) encrypt(rows [][]float64, first, n int) (*he.Ciphertext, error) {
	f := c.info.Features
	vals := make([]uint64, n)
	for t := range vals {
		i, j := (first+t)/f, (first+t)%f
		x := rows[i][j]
		if c.info.ScalerMean != nil {
			x = (x - c.info.ScalerMean[j]) / c.info.ScalerStd[j]
		}
		v, err := c.codec.Encode(x)
		if err != nil {
			return nil, fmt.Errorf("client: row %d, feature %d: %w", i, j, err)
		}
		vals[t] = v
	}
	return he.EncryptQuery(c.key, vals, nil)
}

// DecodeAnswer decrypts an answer to a query of rows rows.
func (c *Client) DecodeAnswer(body []byte, rows int) ([][]float64, error) {
	o := serve.AnswerOutputs(c.output, c.info.Outputs)
	meta, cts, err := serve.DecodeAnswer(body, rows, o)
	if err != nil {
		return nil, err
	}
	if want := c.output; want != "" && meta.Output != want {
		return nil, fmt.Errorf("client: asked for %s, the service answered %.32q", want, meta.Output)
	}
	codec := sharing.Codec{FracBits: meta.FracBits}
	flat := make([]float64, 0, rows*o) // the rows end to end, as the ciphertexts hold them
	for k, ct := range cts {
		vals, err := c.mine.Decrypt(ct, serve.ValuesIn(k, rows, o))
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			flat = append(flat, codec.Decode(v))
		}
	}
	out := make([][]float64, rows)
	for r := range out {
		out[r] = flat[r*o : (r+1)*o : (r+1)*o]
	}
	return out, nil
}

func (c *Client) predictBatch(ctx context.Context, rows [][]float64) ([][]float64, error) {
	body, err := c.EncodeQuery(rows)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v1/query", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	limit := int64(serve.MaxMetaBytes + 4 + serve.CiphertextsFor(len(rows), serve.AnswerOutputs(c.output, c.info.Outputs))*he.CiphertextBytes())
	answer, err := c.do(req, limit)
	if err != nil {
		return nil, err
	}
	return c.DecodeAnswer(answer, len(rows))
}

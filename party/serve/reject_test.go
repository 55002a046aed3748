package serve_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/party/serve"
	"github.com/tessera-mpc/tessera/protocol/he"
)

// post sends body to party's /v1/query with the pinned TLS configuration and
// returns the status and the error message.
func (c *cluster) post(t *testing.T, party int, body []byte, token string) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: serve.PinnedTLS(c.fprint[party])}, Timeout: time.Minute}
	req, err := http.NewRequest(http.MethodPost, c.servers[party].URL+"/v1/query", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e struct{ Error string }
	json.Unmarshal(raw, &e)
	return resp.StatusCode, e.Error
}

func writeTokens(t *testing.T, lines ...string) *serve.Tokens {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := serve.LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// TestServeRejectsBadQueries: malformed bodies, wrong sizes, residues above
// their modulus, a query under another service's key, too many rows, wrong
// widths, and missing, unknown or expired tokens are refused with a clear
// message, at the leader and at another party, and the service keeps
// answering well-formed queries.
func TestServeRejectsBadQueries(t *testing.T) {
	tokens := writeTokens(t, "# clients", "good-token", "old-token 2001-01-01T00:00:00Z")
	c := startCluster(t, 3, tokens, nil)
	other := startCluster(t, 2, nil, nil)
	cl := c.dial(t, 0, "good-token")
	good, err := cl.EncodeQuery(testRows(3, 30, 1))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.dial(t, 0, "").EncodeQuery(testRows(3, 30, 1))
	if err != nil {
		t.Fatal(err)
	}
	metaLen := int(binary.LittleEndian.Uint32(good))
	residue := bytes.Clone(good)
	copy(residue[4+metaLen+he.ClientPublicKeyBytes():], bytes.Repeat([]byte{0xff}, 8))
	cases := []struct {
		name, token string
		body        []byte
		status      int
		message     string
	}{
		{"garbage", "good-token", []byte("abc"), 400, "shorter than its length prefix"},
		{"truncated", "good-token", good[:len(good)-1], 400, "a body of"},
		{"residue", "good-token", residue, 400, "not below modulus"},
		{"wrong key", "good-token", foreign, 400, "encrypted under another key"},
		{"too many rows", "good-token", withMeta(t, good, func(m *serve.QueryMeta) { m.Rows = 101 }), 400, "a query holds 1 to 100"},
		{"far too many rows", "good-token", withMeta(t, good, func(m *serve.QueryMeta) { m.Rows, m.Ciphertexts = 5000, 10 }), 413, "at most"},
		{"wrong count", "good-token", withMeta(t, good, func(m *serve.QueryMeta) { m.Ciphertexts = 0 }), 400, "0 ciphertexts for 3 rows"},
		{"wrong width", "good-token", withMeta(t, good, func(m *serve.QueryMeta) { m.Features = 31 }), 400, "31 features"},
		{"no token", "", good, 401, "missing bearer token"},
		{"unknown token", "bad-token", good, 401, "unknown token"},
		{"expired token", "old-token", good, 401, "token expired"},
	}
	for _, party := range []int{0, 1} {
		for _, tc := range cases {
			status, msg := c.post(t, party, tc.body, tc.token)
			if status != tc.status || !strings.Contains(msg, tc.message) {
				t.Errorf("party %d, %s: HTTP %d %q, want %d with %q", party, tc.name, status, msg, tc.status, tc.message)
			}
		}
		if status, msg := c.post(t, party, good, "good-token"); status != 200 {
			t.Fatalf("party %d: a good query after the bad ones: HTTP %d %s", party, status, msg)
		}
	}
	if _, err := cl.DecodeAnswer(mustAnswer(t, c, good), 3); err != nil {
		t.Fatal(err)
	}
}

func mustAnswer(t *testing.T, c *cluster, body []byte) []byte {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: serve.PinnedTLS(c.fprint[0])}}
	req, _ := http.NewRequest(http.MethodPost, c.servers[0].URL+"/v1/query", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer good-token")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
	}
	return raw
}

// withMeta rewrites a query's metadata and pads or cuts the payload to the
// size its ciphertext count takes.
func withMeta(t *testing.T, body []byte, edit func(*serve.QueryMeta)) []byte {
	t.Helper()
	n := binary.LittleEndian.Uint32(body)
	var m serve.QueryMeta
	if err := json.Unmarshal(body[4:4+n], &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	raw, _ := json.Marshal(m)
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(raw)))
	out = append(out, raw...)
	out = append(out, body[4+n:]...)
	want := serve.QueryBytes(len(raw), m.Ciphertexts)
	for len(out) < want {
		out = append(out, 0)
	}
	return out[:want]
}

// TestServeBusy: with the leader's queue full, a query is refused at once with
// "busy"; the queued one is answered once the parties run.
func TestServeBusy(t *testing.T) {
	c := startClusterHeld(t, 2, nil, func(cfg *serve.Config) { cfg.Queue = 1 }, true)
	cl := c.dial(t, 0, "")
	body, err := cl.EncodeQuery(testRows(2, 30, 4))
	if err != nil {
		t.Fatal(err)
	}
	type reply struct {
		status int
		msg    string
	}
	replies := make(chan reply, 2)
	for range 2 { // one is queued, the other finds the queue full
		go func() { s, m := c.post(t, 0, body, ""); replies <- reply{s, m} }()
	}
	busy := <-replies // nothing runs: only the refusal can come back
	if busy.status != 503 || !strings.Contains(busy.msg, "busy") {
		t.Fatalf("a query with the queue full: HTTP %d %q", busy.status, busy.msg)
	}
	c.run()
	if r := <-replies; r.status != 200 {
		t.Fatalf("the queued query: HTTP %d %q", r.status, r.msg)
	}
}

// TestServePartyDown: with a party gone, a query gets a clear error naming
// it and no answer, and later queries are refused: the engines may be out of
// step.
func TestServePartyDown(t *testing.T) {
	c := startCluster(t, 3, nil, nil)
	cl := c.dial(t, 1, "")
	for _, net := range c.nets {
		net[2].Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := cl.Predict(ctx, testRows(2, 30, 5))
	if statusOf(err) != 503 || !strings.Contains(err.Error(), "party 2") {
		t.Fatalf("a query with party 2 down: %v", err)
	}
	_, err = cl.Predict(ctx, testRows(2, 30, 5))
	if statusOf(err) != 503 || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("a query after the failure: %v", err)
	}
}

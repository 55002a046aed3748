package serve

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tessera-mpc/tessera/protocol/he"
)

// Wire format of a query and of its answer (HTTP bodies, and the forwarded
// copies between parties): a 4-byte little-endian length, that many bytes of
// JSON metadata, then binary payloads whose sizes the metadata fixes exactly.
//
//	query:  meta | client public key | ciphertexts
//	answer: meta | ciphertexts
//
// The rows of a query (or of an answer) are laid end to end, row-major, and
// cut into ciphertexts of he.MaxValues values: ciphertext k holds values
// [k*MaxValues, (k+1)*MaxValues), and a row may straddle two ciphertexts.
// 1,024 MNIST rows fill 49 ciphertexts exactly, where whole rows per
// ciphertext took 52.

// MaxMetaBytes bounds the JSON metadata of a query or an answer.
const MaxMetaBytes = 4096

// QueryMeta describes a query's payload.
type QueryMeta struct {
	Rows        int    `json:"rows"`
	Features    int    `json:"features"`
	Ciphertexts int    `json:"ciphertexts"`
	KeyDigest   string `json:"key_digest"` // hex SHA-256 of the collective key used
	// Output is what the client asks for: OutputLogits (the model's outputs,
	// the default), OutputProbabilities (a secure softmax, or sigmoid for a
	// binary classifier, computed by the parties) or OutputArgmax (the class,
	// computed by the parties: one value a row).
	Output string `json:"output,omitempty"`
}

// Outputs a client may ask for.
const (
	OutputLogits        = "logits"
	OutputProbabilities = "probabilities"
	OutputArgmax        = "argmax"
)

// AnswerOutputs is how many values a row of the answer holds when the model
// has outputs outputs and the client asked for output.
func AnswerOutputs(output string, outputs int) int {
	if output == OutputArgmax {
		return 1
	}
	return outputs
}

// AnswerMeta describes an answer's payload.
type AnswerMeta struct {
	Rows        int    `json:"rows"`
	Outputs     int    `json:"outputs"`
	Ciphertexts int    `json:"ciphertexts"`
	FracBits    int    `json:"frac_bits"`
	Output      string `json:"output"`
}

// Info is what any party tells a client before it queries (GET /v1/info).
type Info struct {
	Model       string    `json:"model"`
	Features    int       `json:"features"`
	Outputs     int       `json:"outputs"`
	FracBits    int       `json:"frac_bits"`
	MaxRows     int       `json:"max_rows"`
	OutputKinds []string  `json:"output_kinds"` // what QueryMeta.Output may ask
	Parties     int       `json:"parties"`
	Self        int       `json:"self"`
	PeerIDs     []string  `json:"peer_ids"`
	KeyDigest   string    `json:"key_digest"`
	ScalerMean  []float64 `json:"scaler_mean,omitempty"` // the client standardises rows with these
	ScalerStd   []float64 `json:"scaler_std,omitempty"`
	Ciphertext  int       `json:"ciphertext_bytes"` // of a query ciphertext
	ClientKey   int       `json:"client_key_bytes"`
	ValuesPerCt int       `json:"values_per_ciphertext"` // rows laid end to end (wire.go)
}

// CiphertextsFor is the number of ciphertexts of rows rows of the given width.
func CiphertextsFor(rows, width int) int { return ciphertextsFor(rows, width) }

func ciphertextsFor(rows, width int) int { return (rows*width + he.MaxValues - 1) / he.MaxValues }

// ValuesIn is how many values ciphertext k of rows rows of width w holds:
// he.MaxValues but in the last.
func ValuesIn(k, rows, w int) int { return valuesIn(k, rows, w) }

// QueryBytes is the exact size of a query body with the given metadata size.
func QueryBytes(metaLen, cts int) int { return queryBytes(metaLen, cts, he.QueryCiphertextBytes()) }

func queryBytes(metaLen, cts, ctBytes int) int {
	return 4 + metaLen + he.ClientPublicKeyBytes() + cts*ctBytes
}

// EncodeQuery encodes a query body.
func EncodeQuery(meta QueryMeta, client *he.ClientPublicKey, cts []*he.Ciphertext) []byte {
	out := queryHead(nil, meta, client, len(cts), he.QueryCiphertextBytes())
	for _, ct := range cts {
		out = ct.AppendBytes(out) // in place: queryHead leaves the packer's slack
	}
	return out
}

// encodeQueryC1 is a query as the leader sends it to the other parties, after
// the bytes of head: each ciphertext's c1 only (they never need c0), as the
// client encoded it (decodeQuery checked every residue, and a valid encoding
// is the only one).
func encodeQueryC1(head []byte, q *Query) []byte {
	out := queryHead(head, q.Meta, q.Client, len(q.raw), he.C1Bytes())
	for _, ct := range q.raw {
		out = append(out, ct[len(ct)-he.C1Bytes():]...)
	}
	return out
}

// queryHead starts a query body of cts ciphertexts of ctBytes each, after
// head, with the capacity of the whole body and 8 bytes more (the packer
// stores whole words).
func queryHead(head []byte, meta QueryMeta, client *he.ClientPublicKey, cts, ctBytes int) []byte {
	raw, _ := json.Marshal(meta)
	out := append(make([]byte, 0, len(head)+queryBytes(len(raw), cts, ctBytes)+8), head...)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(raw)))
	out = append(out, raw...)
	return append(out, client.Bytes()...)
}

// ErrBadRequest is wrapped by every error about a malformed query.
var ErrBadRequest = errors.New("bad request")

func badf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// Limits are what a query must satisfy.
type Limits struct {
	Features  int
	MaxRows   int
	KeyDigest [32]byte
	// Outputs are the kinds of answer the model gives (Info.OutputKinds).
	Outputs []string
}

func (l Limits) answers(output string) bool {
	for _, o := range l.Outputs {
		if o == output {
			return true
		}
	}
	return false
}

// readMeta splits a body into its metadata and payload, within MaxMetaBytes.
func readMeta(body []byte, v any) ([]byte, int, error) {
	if len(body) < 4 {
		return nil, 0, badf("a body of %d bytes is shorter than its length prefix", len(body))
	}
	n := binary.LittleEndian.Uint32(body)
	if n > MaxMetaBytes || int(n) > len(body)-4 {
		return nil, 0, badf("metadata of %d bytes (at most %d, and within the body)", n, MaxMetaBytes)
	}
	if err := json.Unmarshal(body[4:4+n], v); err != nil {
		return nil, 0, badf("metadata is not valid JSON: %v", err)
	}
	return body[4+n:], int(n), nil
}

// CheckQueryMeta validates a query's metadata against the limits and its
// total size, before anything is allocated for the payload.
func CheckQueryMeta(m QueryMeta, metaLen, total int, lim Limits) error {
	return checkQueryMeta(m, metaLen, total, lim, he.QueryCiphertextBytes())
}

func checkQueryMeta(m QueryMeta, metaLen, total int, lim Limits, ctBytes int) error {
	switch {
	case m.Features != lim.Features:
		return badf("rows of %d features, the model takes %d", m.Features, lim.Features)
	case m.Rows < 1 || m.Rows > lim.MaxRows:
		return badf("%d rows, a query holds 1 to %d", m.Rows, lim.MaxRows)
	case m.Ciphertexts != ciphertextsFor(m.Rows, m.Features):
		return badf("%d ciphertexts for %d rows, want %d", m.Ciphertexts, m.Rows, ciphertextsFor(m.Rows, m.Features))
	case m.Output != "" && !lim.answers(m.Output):
		return badf("output %.32q: this model answers %s", m.Output, quoteAll(lim.Outputs))
	case m.KeyDigest != hex.EncodeToString(lim.KeyDigest[:]):
		return badf("the query is encrypted under another key (digest %.16s..., the service's is %x...): fetch /v1/key again", m.KeyDigest, lim.KeyDigest[:8])
	case total != queryBytes(metaLen, m.Ciphertexts, ctBytes):
		return badf("a body of %d bytes, want %d for %d ciphertexts", total, queryBytes(metaLen, m.Ciphertexts, ctBytes), m.Ciphertexts)
	}
	return nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// Query is a decoded query.
type Query struct {
	Meta   QueryMeta
	Client *he.ClientPublicKey
	Cts    []*he.Ciphertext
	raw    [][]byte // each ciphertext's encoding, within the body it came in
}

// DecodeQuery validates and decodes a query body.
func DecodeQuery(body []byte, lim Limits) (*Query, error) {
	return decodeQuery(body, lim, he.QueryCiphertextBytes(), he.ParseQueryCiphertext)
}

// decodeQueryC1 decodes a query as the leader sends it (c1 only).
func decodeQueryC1(body []byte, lim Limits) (*Query, error) {
	return decodeQuery(body, lim, he.C1Bytes(), he.ParseC1)
}

func decodeQuery(body []byte, lim Limits, cb int, parse func([]byte) (*he.Ciphertext, error)) (*Query, error) {
	var m QueryMeta
	rest, metaLen, err := readMeta(body, &m)
	if err != nil {
		return nil, err
	}
	if err := checkQueryMeta(m, metaLen, len(body), lim, cb); err != nil {
		return nil, err
	}
	q := &Query{Meta: m}
	kb := he.ClientPublicKeyBytes()
	if q.Client, err = he.ParseClientPublicKey(rest[:kb]); err != nil {
		return nil, badf("%v", err)
	}
	rest = rest[kb:]
	for k := range m.Ciphertexts {
		raw := rest[k*cb : (k+1)*cb : (k+1)*cb]
		ct, err := parse(raw)
		if err != nil {
			return nil, badf("ciphertext %d: %v", k, err)
		}
		q.Cts = append(q.Cts, ct)
		q.raw = append(q.raw, raw)
	}
	return q, nil
}

// EncodeAnswer encodes an answer body.
func EncodeAnswer(meta AnswerMeta, cts []*he.Ciphertext) []byte {
	raw, _ := json.Marshal(meta)
	out := binary.LittleEndian.AppendUint32(nil, uint32(len(raw)))
	out = append(out, raw...)
	for _, ct := range cts {
		out = append(out, ct.Bytes()...)
	}
	return out
}

// DecodeAnswer validates and decodes an answer to a query of rows rows with
// outputs values each.
func DecodeAnswer(body []byte, rows, outputs int) (AnswerMeta, []*he.Ciphertext, error) {
	var m AnswerMeta
	rest, _, err := readMeta(body, &m)
	if err != nil {
		return m, nil, err
	}
	if m.Rows != rows || m.Outputs != outputs || m.Ciphertexts != ciphertextsFor(rows, outputs) {
		return m, nil, badf("an answer of %d rows x %d outputs in %d ciphertexts, want %d x %d", m.Rows, m.Outputs, m.Ciphertexts, rows, outputs)
	}
	cb := he.CiphertextBytes()
	if len(rest) != m.Ciphertexts*cb {
		return m, nil, badf("an answer payload of %d bytes, want %d", len(rest), m.Ciphertexts*cb)
	}
	var cts []*he.Ciphertext
	for k := range m.Ciphertexts {
		ct, err := he.ParseCiphertext(rest[k*cb : (k+1)*cb])
		if err != nil {
			return m, nil, badf("answer ciphertext %d: %v", k, err)
		}
		cts = append(cts, ct)
	}
	return m, cts, nil
}

func valuesIn(k, rows, w int) int { return min(he.MaxValues, rows*w-k*he.MaxValues) }

package protocol

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// Engine is one party's MPC engine. It is not safe for concurrent use: a party runs
// one protocol at a time, and all parties must call the same operations in the same
// order with the same public arguments (shapes, constants).
type Engine struct {
	tr      Transport
	self    int
	n       int
	pre     Source
	codec   sharing.Codec
	rng     io.Reader // fresh randomness for input sharing
	round   uint64    // index of the next communication round of this session
	clock   OpClock
	opening Opening
	scope   string
	scopes  map[string]*ScopeCost
	order   []string // scopes in first-use order
	// peerInputs counts the elements allocated for peers' inputs this session,
	// against maxPeerInputs.
	peerInputs, maxPeerInputs int64
	// maxWords bounds the elements of one opening: MaxMessageElements, or less when
	// the transport carries smaller messages (MessageBounder).
	maxWords int
	// lookup: sign extractions on 16 and 32 bits by open and compare.
	lookup bool
	// compact: every truncation compact (Config.CompactTruncations).
	compact bool
	// riders are additive openings that wait for the next opening round of any
	// kind and travel in its messages (see ride).
	riders []*rider
}

// rider is an additive opening that travels with the next round's messages: a
// value whose opening nothing waits for until a later step, merged into a round
// the computation takes anyway. sum is set when that round has run.
type rider struct {
	words []uint64
	sum   []uint64
}

// ride queues words (additive shares) to be opened in the next opening round,
// whatever it opens: that round's messages carry them first, flagged so that a
// peer out of step is still caught. Every party must queue the same number of
// words before the same round. Rounds that are not openings (OpenTo, Input,
// public exchanges) refuse to run while a rider waits.
func (e *Engine) ride(words []uint64) *rider {
	r := &rider{words: words}
	e.riders = append(e.riders, r)
	return r
}

// noRiders fails when an opening waits for a round that cannot carry it.
func (e *Engine) noRiders(what string) error {
	if len(e.riders) > 0 {
		return fmt.Errorf("protocol: %s: %d openings wait for the next opening round", what, len(e.riders))
	}
	return nil
}

// MessageBounder is implemented by transports that bound a message's size: the
// engine refuses a larger opening itself, with an error naming the bound, rather
// than failing at Send.
type MessageBounder interface {
	MaxMessageBytes() int
}

// ScopeCost is the cost of a named part of a computation (a layer's forward pass,
// say): wall time, rounds and bytes this party sent while the scope was active.
type ScopeCost struct {
	Name      string        `json:"name"`
	Time      time.Duration `json:"time_ns"`
	Rounds    int64         `json:"rounds"`
	BytesSent int64         `json:"bytes_sent"`
}

// Enter makes name the active scope until the returned function is called; costs
// incurred meanwhile are added to it. Scopes do not nest.
func (e *Engine) Enter(name string) (exit func()) {
	if e.scopes == nil {
		e.scopes = map[string]*ScopeCost{}
	}
	sc, ok := e.scopes[name]
	if !ok {
		sc = &ScopeCost{Name: name}
		e.scopes[name] = sc
		e.order = append(e.order, name)
	}
	prev := e.scope
	e.scope = name
	start := time.Now()
	return func() {
		sc.Time += time.Since(start)
		e.scope = prev
	}
}

// ScopeCosts returns the accumulated scope costs in first-use order.
func (e *Engine) ScopeCosts() []ScopeCost {
	out := make([]ScopeCost, 0, len(e.order))
	for _, name := range e.order {
		out = append(out, *e.scopes[name])
	}
	return out
}

func (e *Engine) noteRound() {
	if sc := e.scopes[e.scope]; sc != nil && e.scope != "" {
		sc.Rounds++
	}
}

func (e *Engine) send(ctx context.Context, to int, msg []byte) error {
	e.countSent(len(msg))
	return e.tr.Send(ctx, to, msg)
}

func (e *Engine) countSent(n int) {
	if sc := e.scopes[e.scope]; sc != nil && e.scope != "" {
		sc.BytesSent += int64(n)
	}
}

// OpClock accumulates time and rounds spent per operation kind, for cost reports.
type OpClock map[string]OpCost

// OpCost is the accumulated cost of one operation kind.
type OpCost struct {
	Calls    int64         `json:"calls"`
	Rounds   int64         `json:"rounds"`
	Elements int64         `json:"elements_opened"`
	Time     time.Duration `json:"time_ns"`
}

// Config tunes an engine; the zero value is not valid, use NewEngine's defaults.
type Config struct {
	Codec sharing.Codec
	// Rand is the source of fresh randomness for input sharing; crypto/rand when nil.
	Rand io.Reader
	// Parties is the number of computing parties, members 0..Parties-1 of the
	// transport; 0 means all of its members. Further members (a dealer) take no
	// part in the engine's protocols.
	Parties int
	// Opening is how values are opened: OpenAllToAll (default: every party sends
	// its share to every other, one hop) or OpenViaKing (through a rotating king:
	// two hops, a third fewer bytes in all for 3 parties).
	Opening Opening
	// LookupComparisons makes sign extractions on 16 and 32 bits (ReLU,
	// TruncateReLU, Softmax's maximum) open x masked by a dealer's r and look the
	// borrow up in one-hot vectors of r (KindCompare, compare.go): 2 rounds instead
	// of the binary adder's 6 or 7. Only a dealer makes that material: set it when
	// the preprocessing is a dealer's, and the same on every party.
	LookupComparisons bool
	// CompactTruncations makes every plain truncation (Truncate, TruncateBy,
	// TruncateMany, TruncateEach) a compact one (TruncateEachCompact): the low
	// bits of a share are never opened, so the mask is the high part of a pair
	// (for protocol/ot, 64 - max(b, 58 - ceil(log2 N)) daBits per element
	// instead of 64: 8 for 3 parties at b = 16) and the error is under N/2
	// units in the last place (N - 1/2 with packed lanes) instead of one.
	// Dealer-free engines set it: a daBit costs them N(N-1)/2 OTs. The same on
	// every party.
	CompactTruncations bool
	// MaxPeerInputElements bounds the elements this party allocates, over the whole
	// session, for its shares of other parties' inputs, whose shapes those parties
	// declare (default DefaultMaxPeerInputElements).
	MaxPeerInputElements int64
}

// DefaultMaxPeerInputElements is 2 GiB of shares of peers' inputs.
const DefaultMaxPeerInputElements = 1 << 28

// Opening is a pattern for opening shared values.
type Opening string

// The opening patterns.
const (
	OpenAllToAll Opening = "all-to-all"
	OpenViaKing  Opening = "king"
)

// fetch asks the engine's source for req and checks what it gave.
func (e *Engine) fetch(ctx context.Context, req Request) (Material, error) {
	m, err := e.pre.Fetch(ctx, req)
	if err != nil {
		return Material{}, err
	}
	if err := m.check(req); err != nil {
		return Material{}, err
	}
	return m, nil
}

// NewEngine returns party tr.Self()'s engine.
func NewEngine(tr Transport, pre Source, cfg Config) (*Engine, error) {
	if tr == nil || pre == nil {
		return nil, errors.New("protocol: engine needs a transport and a preprocessing source")
	}
	n := cfg.Parties
	if n == 0 {
		n = tr.Parties()
	}
	if n < 2 || n > tr.Parties() {
		return nil, fmt.Errorf("protocol: need between 2 and %d parties, got %d", tr.Parties(), n)
	}
	if tr.Self() < 0 || tr.Self() >= n {
		return nil, fmt.Errorf("protocol: party index %d out of range [0, %d)", tr.Self(), n)
	}
	if _, err := sharing.NewCodec(cfg.Codec.FracBits); err != nil {
		return nil, err
	}
	rng := cfg.Rand
	if rng == nil {
		rng = rand.Reader
	}
	switch cfg.Opening {
	case "", OpenAllToAll, OpenViaKing:
	default:
		return nil, fmt.Errorf("protocol: unknown opening pattern %q (known: %s, %s)", cfg.Opening, OpenAllToAll, OpenViaKing)
	}
	maxPeerInputs := cfg.MaxPeerInputElements
	if maxPeerInputs <= 0 {
		maxPeerInputs = DefaultMaxPeerInputElements
	}
	maxWords := MaxMessageElements
	if b, ok := tr.(MessageBounder); ok {
		maxWords = min(maxWords, (b.MaxMessageBytes()-headerSize)/8)
	}
	return &Engine{tr: tr, self: tr.Self(), n: n, pre: pre, codec: cfg.Codec, rng: rng, clock: OpClock{}, opening: cfg.Opening,
		maxPeerInputs: maxPeerInputs, maxWords: maxWords, lookup: cfg.LookupComparisons, compact: cfg.CompactTruncations}, nil
}

// Self is this party's index.
func (e *Engine) Self() int { return e.self }

// Parties is the number of parties.
func (e *Engine) Parties() int { return e.n }

// Codec is the session's fixed-point codec.
func (e *Engine) Codec() sharing.Codec { return e.codec }

// Rounds is the number of communication rounds this engine has run.
func (e *Engine) Rounds() uint64 { return e.round }

// Costs returns a copy of the per-operation cost table.
func (e *Engine) Costs() OpClock {
	out := OpClock{}
	for k, v := range e.clock {
		out[k] = v
	}
	return out
}

func (e *Engine) account(op string, start time.Time, rounds, elements int) {
	c := e.clock[op]
	c.Calls++
	c.Rounds += int64(rounds)
	c.Elements += int64(elements)
	c.Time += time.Since(start)
	e.clock[op] = c
}

// Message layout: round (8 bytes) | op (2 bytes) | element count (4 bytes) | 2 bytes
// of padding | elements (8 bytes each, little-endian). The round and op let a
// receiver detect a peer that is out of step instead of silently combining
// unrelated shares; the padding keeps the elements 8-byte aligned.
const headerSize = 16

// MaxMessageElements bounds one message (1 GiB of elements).
const MaxMessageElements = 1 << 27

type opCode uint16

// opResultFlag marks a king's combined result of an opening; opRiderFlag a message
// whose first words are riders (additive openings merged into the round).
const (
	opResultFlag opCode = 0x8000
	opRiderFlag  opCode = 0x4000
)

const (
	opOpen opCode = iota + 1
	opOpenTo
	opShareSeed
	opShareData
	opMaterial
	opOpenBinary
	opPublic
	opBlob
	opOpenMixed
	opOpenLanes
)

func (o opCode) String() string {
	if o&opResultFlag != 0 {
		return (o &^ opResultFlag).String() + "-result"
	}
	if o&opRiderFlag != 0 {
		return (o &^ opRiderFlag).String() + "+riders"
	}
	switch o {
	case opOpen:
		return "open"
	case opOpenTo:
		return "open-to"
	case opShareSeed:
		return "input-seed"
	case opShareData:
		return "input-data"
	case opMaterial:
		return "dealer-material"
	case opOpenBinary:
		return "open-binary"
	case opPublic:
		return "public-exchange"
	case opBlob:
		return "public-blob"
	case opOpenMixed:
		return "open-mixed"
	case opOpenLanes:
		return "open-lanes"
	}
	return fmt.Sprintf("op(%d)", uint16(o))
}

func encodeMessage(round uint64, op opCode, words []uint64) []byte {
	buf := make([]byte, headerSize+8*len(words))
	binary.LittleEndian.PutUint64(buf[0:], round)
	binary.LittleEndian.PutUint16(buf[8:], uint16(op))
	binary.LittleEndian.PutUint32(buf[10:], uint32(len(words)))
	sharing.PutWords(buf[headerSize:], words)
	return buf
}

// decodeMessage checks a peer's message against what this round expects and
// returns its elements.
func decodeMessage(msg []byte, from int, round uint64, op opCode, want int) ([]uint64, error) {
	payload, err := checkMessage(msg, from, round, op, want)
	if err != nil {
		return nil, err
	}
	words := make([]uint64, want)
	sharing.GetWords(words, payload)
	return words, nil
}

// checkMessage validates a peer's message header against what this round expects
// and returns its payload bytes.
func checkMessage(msg []byte, from int, round uint64, op opCode, want int) ([]byte, error) {
	if len(msg) < headerSize {
		return nil, fmt.Errorf("protocol: round %d %s: message from party %d is %d bytes, shorter than a header", round, op, from, len(msg))
	}
	gotRound := binary.LittleEndian.Uint64(msg[0:])
	gotOp := opCode(binary.LittleEndian.Uint16(msg[8:]))
	count := int(binary.LittleEndian.Uint32(msg[10:]))
	switch {
	case gotRound != round || gotOp != op:
		return nil, fmt.Errorf("protocol: round %d %s: party %d is out of step (sent round %d %s)", round, op, from, gotRound, gotOp)
	case count != want:
		return nil, fmt.Errorf("protocol: round %d %s: party %d sent %d elements, want %d", round, op, from, count, want)
	case len(msg) != headerSize+8*count:
		return nil, fmt.Errorf("protocol: round %d %s: message from party %d is %d bytes, want %d", round, op, from, len(msg), headerSize+8*count)
	}
	return msg[headerSize:], nil
}

// exchange sends words to every peer and returns the sum of everyone's words: the
// core of an opening, one round.
func (e *Engine) exchange(ctx context.Context, words []uint64) ([]uint64, error) {
	return e.exchangeWith(ctx, words, opOpen, addThenXor(len(words)))
}

// OpenBinary reveals XOR-shared words to every party in one round.
func (e *Engine) OpenBinary(ctx context.Context, words []uint64) ([]uint64, error) {
	start := time.Now()
	out, err := e.exchangeWith(ctx, words, opOpenBinary, addThenXor(0))
	if err != nil {
		return nil, err
	}
	e.account("open-binary", start, 1, len(words))
	return out, nil
}

// openMixed reveals additively shared words and XOR-shared words together, in
// one round and one message per peer: for a step that needs both (a bit's
// conversion and a Beaver product that waits on it).
func (e *Engine) openMixed(ctx context.Context, arith, binary []uint64) (sum, xor []uint64, err error) {
	start := time.Now()
	out, err := e.exchangeWith(ctx, append(append(make([]uint64, 0, len(arith)+len(binary)), arith...), binary...), opOpenMixed, addThenXor(len(arith)))
	if err != nil {
		return nil, nil, err
	}
	e.account("open-mixed", start, 1, len(out))
	return out[:len(arith):len(arith)], out[len(arith):], nil
}

// exchangeViaKing opens through one party, the king of the round (rotating, so the
// load is shared): the others send it their words, it combines them and sends the
// result back. Two hops instead of one, but 2(N-1) messages instead of N(N-1).
func (e *Engine) exchangeViaKing(ctx context.Context, round uint64, words []uint64, op opCode, comb combination) ([]uint64, error) {
	king := int(round % uint64(e.n))
	if e.self != king {
		if err := e.send(ctx, king, encodeMessage(round, op, words)); err != nil {
			return nil, fmt.Errorf("protocol: round %d %s: send to king party %d: %w", round, op, king, err)
		}
		msg, err := e.tr.Recv(ctx, king)
		if err != nil {
			return nil, fmt.Errorf("protocol: round %d %s: receive the result from king party %d: %w", round, op, king, err)
		}
		return decodeMessage(msg, king, round, op|opResultFlag, len(words))
	}
	sum, err := e.combineFromPeers(ctx, round, words, op, comb)
	if err != nil {
		return nil, err
	}
	if err := e.sendAll(ctx, round, op|opResultFlag, encodeMessage(round, op|opResultFlag, sum)); err != nil {
		return nil, err
	}
	return sum, nil
}

// combination says how a round's words add up: by 64-bit addition before index
// lanesFrom, lane by lane from there to xorFrom (laneTop marks every lane's top
// bit: each lane is added modulo its own width, no carry crosses into the next),
// by XOR from xorFrom on.
type combination struct {
	lanesFrom, xorFrom int
	laneTop            uint64
}

// addThenXor is the combination of words added before xorFrom and XORed after.
func addThenXor(xorFrom int) combination { return combination{lanesFrom: xorFrom, xorFrom: xorFrom} }

// after is the combination of the same words behind lead added words.
func (c combination) after(lead int) combination {
	c.lanesFrom += lead
	c.xorFrom += lead
	return c
}

// exchangeWith combines everyone's words as comb says. Waiting riders go first
// in the same messages, added.
func (e *Engine) exchangeWith(ctx context.Context, words []uint64, op opCode, comb combination) ([]uint64, error) {
	if len(e.riders) == 0 {
		return e.exchangeRound(ctx, words, op, comb)
	}
	riders := e.riders
	e.riders = nil
	var all []uint64
	for _, r := range riders {
		all = append(all, r.words...)
	}
	lead := len(all)
	out, err := e.exchangeRound(ctx, append(all, words...), op|opRiderFlag, comb.after(lead))
	if err != nil {
		return nil, err
	}
	off := 0
	for _, r := range riders {
		r.sum = out[off : off+len(r.words) : off+len(r.words)]
		off += len(r.words)
	}
	return out[lead:], nil
}

// exchangeRound is one opening round: see exchangeWith.
func (e *Engine) exchangeRound(ctx context.Context, words []uint64, op opCode, comb combination) ([]uint64, error) {
	if len(words) > e.maxWords {
		return nil, fmt.Errorf("protocol: opening of %d elements exceeds the message bound %d", len(words), e.maxWords)
	}
	round := e.round
	e.round++
	e.noteRound()
	if e.opening == OpenViaKing {
		return e.exchangeViaKing(ctx, round, words, op, comb)
	}
	if err := e.sendAll(ctx, round, op, encodeMessage(round, op, words)); err != nil {
		return nil, err
	}
	return e.combineFromPeers(ctx, round, words, op, comb)
}

// parallelSendBytes is the message size from which sendAll writes to its peers
// concurrently: a transport's Send may block until the bytes are written (libp2p
// encrypts and writes in Send), and one peer's write need not wait for another's.
const parallelSendBytes = 64 << 10

// sendAll sends msg to every peer.
func (e *Engine) sendAll(ctx context.Context, round uint64, op opCode, msg []byte) error {
	if len(msg) >= parallelSendBytes && e.n > 2 {
		errs := make([]error, e.n)
		var wg sync.WaitGroup
		for p := 0; p < e.n; p++ {
			if p == e.self {
				continue
			}
			e.countSent(len(msg)) // here, not in the goroutines: scopes are not locked
			wg.Go(func() {
				if err := e.tr.Send(ctx, p, msg); err != nil {
					errs[p] = fmt.Errorf("protocol: round %d %s: send to party %d: %w", round, op, p, err)
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	for p := 0; p < e.n; p++ {
		if p == e.self {
			continue
		}
		if err := e.send(ctx, p, msg); err != nil {
			return fmt.Errorf("protocol: round %d %s: send to party %d: %w", round, op, p, err)
		}
	}
	return nil
}

// combineFromPeers adds every peer's words of this round to ours as comb says.
func (e *Engine) combineFromPeers(ctx context.Context, round uint64, words []uint64, op opCode, comb combination) ([]uint64, error) {
	sum := append([]uint64(nil), words...)
	for p := 0; p < e.n; p++ {
		if p == e.self {
			continue
		}
		msg, err := e.tr.Recv(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("protocol: round %d %s: receive from party %d: %w", round, op, p, err)
		}
		payload, err := checkMessage(msg, p, round, op, len(words))
		if err != nil {
			return nil, err
		}
		lanes, xor := comb.lanesFrom, comb.xorFrom
		sharing.AddWordsInto(sum[:lanes], payload[:8*lanes])
		addLanesInto(sum[lanes:xor], payload[8*lanes:8*xor], comb.laneTop)
		sharing.XorWordsInto(sum[xor:], payload[8*xor:])
	}
	return sum, nil
}

// Open reveals shared tensors to every party, all in one round.
func (e *Engine) Open(ctx context.Context, xs ...sharing.Tensor) ([]sharing.Tensor, error) {
	start := time.Now()
	total := 0
	for _, x := range xs {
		total += x.Len()
	}
	words := make([]uint64, 0, total)
	for _, x := range xs {
		words = append(words, x.Data...)
	}
	sum, err := e.exchange(ctx, words)
	if err != nil {
		return nil, err
	}
	out := make([]sharing.Tensor, len(xs))
	off := 0
	for i, x := range xs {
		out[i] = sharing.Tensor{Shape: append([]int(nil), x.Shape...), Data: sum[off : off+x.Len() : off+x.Len()]}
		off += x.Len()
	}
	e.account("open", start, 1, total)
	return out, nil
}

// OpenTo reveals x to party `to` only; the others get a zero Tensor and learn nothing.
func (e *Engine) OpenTo(ctx context.Context, x sharing.Tensor, to int) (sharing.Tensor, error) {
	if to < 0 || to >= e.n {
		return sharing.Tensor{}, fmt.Errorf("protocol: open to party %d: no such party", to)
	}
	if err := e.noRiders("open-to"); err != nil {
		return sharing.Tensor{}, err
	}
	start := time.Now()
	round := e.round
	e.round++
	e.noteRound()
	defer e.account("open-to", start, 1, x.Len())
	if e.self != to {
		if err := e.send(ctx, to, encodeMessage(round, opOpenTo, x.Data)); err != nil {
			return sharing.Tensor{}, fmt.Errorf("protocol: round %d open-to: send to party %d: %w", round, to, err)
		}
		return sharing.Tensor{}, nil
	}
	out := x.Clone()
	for p := 0; p < e.n; p++ {
		if p == e.self {
			continue
		}
		msg, err := e.tr.Recv(ctx, p)
		if err != nil {
			return sharing.Tensor{}, fmt.Errorf("protocol: round %d open-to: receive from party %d: %w", round, p, err)
		}
		theirs, err := decodeMessage(msg, p, round, opOpenTo, x.Len())
		if err != nil {
			return sharing.Tensor{}, err
		}
		for i, w := range theirs {
			out.Data[i] += w
		}
	}
	return out, nil
}

// Input secret-shares a tensor held by party owner; every party passes the public
// shape, and only the owner passes the value (others pass a zero Tensor). The owner
// sends each peer a fresh 16-byte seed from which the peer expands its share, and
// keeps x minus the expansions: 16 bytes per peer, whatever the size of x.
func (e *Engine) Input(ctx context.Context, owner int, x sharing.Tensor, shape ...int) (sharing.Tensor, error) {
	defer e.account("input", time.Now(), 1, 0)
	if owner == e.self && sharing.Size(shape) != x.Len() {
		return sharing.Tensor{}, fmt.Errorf("protocol: input of shape %v does not match declared shape %v", x.Shape, shape)
	}
	seeds, err := e.shareInput(ctx, owner, shape, e.reservePeerInput)
	if err != nil {
		return sharing.Tensor{}, err
	}
	if owner != e.self {
		return sharing.NewPRG(seeds[0], 0).Tensor(shape...), nil
	}
	mine := x.Clone()
	mine.Shape = append([]int(nil), shape...)
	for _, s := range seeds {
		sharing.NewPRG(s, 0).SubFrom(mine.Data)
	}
	return mine, nil
}

// shareInput runs one input round. The owner draws a fresh seed per peer, sends it,
// and returns the seeds it sent (its share is x minus their expansions under
// stream 0); a peer checks the declared shape and returns the one seed it
// received, whose expansion is its share.
func (e *Engine) shareInput(ctx context.Context, owner int, shape []int, checkShape func(owner int, shape []int) error) ([]sharing.Seed, error) {
	if owner < 0 || owner >= e.n {
		return nil, fmt.Errorf("protocol: input from party %d: no such party", owner)
	}
	if err := e.noRiders("input"); err != nil {
		return nil, err
	}
	round := e.round
	e.round++
	e.noteRound()
	if e.self == owner {
		var seeds []sharing.Seed
		for p := 0; p < e.n; p++ {
			if p == e.self {
				continue
			}
			seed, err := sharing.NewSeed(e.rng)
			if err != nil {
				return nil, err
			}
			if err := e.send(ctx, p, encodeMessage(round, opShareSeed, seedWords(seed))); err != nil {
				return nil, fmt.Errorf("protocol: round %d input: send seed to party %d: %w", round, p, err)
			}
			seeds = append(seeds, seed)
		}
		return seeds, nil
	}
	if err := checkShape(owner, shape); err != nil {
		return nil, fmt.Errorf("protocol: round %d input: %w", round, err)
	}
	msg, err := e.tr.Recv(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("protocol: round %d input: receive from party %d: %w", round, owner, err)
	}
	words, err := decodeMessage(msg, owner, round, opShareSeed, sharing.SeedSize/8)
	if err != nil {
		return nil, err
	}
	var seed sharing.Seed
	binary.LittleEndian.PutUint64(seed[0:], words[0])
	binary.LittleEndian.PutUint64(seed[8:], words[1])
	return []sharing.Seed{seed}, nil
}

// reservePeerInput checks, before anything is allocated, that a peer's input of
// the given shape (which a peer may have declared) fits one message's bound and
// the session's budget for peers' inputs.
func (e *Engine) reservePeerInput(owner int, shape []int) error {
	size := int64(1)
	for _, d := range shape {
		if d < 0 || d > MaxMessageElements {
			return fmt.Errorf("party %d's input of shape %v: dimension out of range", owner, shape)
		}
		if size *= int64(d); size > MaxMessageElements {
			return fmt.Errorf("party %d's input of shape %v exceeds %d elements", owner, shape, MaxMessageElements)
		}
	}
	if e.peerInputs+size > e.maxPeerInputs {
		return fmt.Errorf("party %d's input of shape %v: peers' inputs would exceed the session's bound of %d elements", owner, shape, e.maxPeerInputs)
	}
	e.peerInputs += size
	return nil
}

func seedWords(s sharing.Seed) []uint64 {
	return []uint64{binary.LittleEndian.Uint64(s[0:]), binary.LittleEndian.Uint64(s[8:])}
}

// ExchangePublic sends this party's public words to every party and returns every
// party's words, by index (this party's own included): for metadata such as row
// counts, which are public by agreement. Each peer must send exactly `want` words.
func (e *Engine) ExchangePublic(ctx context.Context, words []uint64) ([][]uint64, error) {
	if err := e.noRiders("public exchange"); err != nil {
		return nil, err
	}
	round := e.round
	e.round++
	e.noteRound()
	if err := e.sendAll(ctx, round, opPublic, encodeMessage(round, opPublic, words)); err != nil {
		return nil, err
	}
	out := make([][]uint64, e.n)
	out[e.self] = append([]uint64(nil), words...)
	for p := 0; p < e.n; p++ {
		if p == e.self {
			continue
		}
		msg, err := e.tr.Recv(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("protocol: round %d %s: receive from party %d: %w", round, opPublic, p, err)
		}
		if out[p], err = decodeMessage(msg, p, round, opPublic, len(words)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ExchangeBlobs sends this party's public byte string (at most maxLen bytes) to every
// party and returns everyone's, by index: for public metadata of varying length,
// such as the experiment config every party checks before any share moves.
func (e *Engine) ExchangeBlobs(ctx context.Context, blob []byte, maxLen int) ([][]byte, error) {
	if len(blob) > maxLen {
		return nil, fmt.Errorf("protocol: public blob of %d bytes exceeds %d", len(blob), maxLen)
	}
	if err := e.noRiders("public blob exchange"); err != nil {
		return nil, err
	}
	round := e.round
	e.round++
	e.noteRound()
	words := make([]uint64, 1+(len(blob)+7)/8)
	words[0] = uint64(len(blob))
	padded := append(append([]byte(nil), blob...), make([]byte, 8*(len(words)-1)-len(blob))...)
	for i := 1; i < len(words); i++ {
		words[i] = binary.LittleEndian.Uint64(padded[8*(i-1):])
	}
	if err := e.sendAll(ctx, round, opBlob, encodeMessage(round, opBlob, words)); err != nil {
		return nil, err
	}
	out := make([][]byte, e.n)
	out[e.self] = append([]byte(nil), blob...)
	for p := 0; p < e.n; p++ {
		if p == e.self {
			continue
		}
		msg, err := e.tr.Recv(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("protocol: round %d %s: receive from party %d: %w", round, opBlob, p, err)
		}
		if len(msg) < headerSize+8 {
			return nil, fmt.Errorf("protocol: round %d %s: message from party %d is too short", round, opBlob, p)
		}
		count := int(binary.LittleEndian.Uint32(msg[10:]))
		if count < 1 || count > 1+(maxLen+7)/8 {
			return nil, fmt.Errorf("protocol: round %d %s: party %d sent %d words, at most %d allowed", round, opBlob, p, count, 1+(maxLen+7)/8)
		}
		theirs, err := decodeMessage(msg, p, round, opBlob, count)
		if err != nil {
			return nil, err
		}
		n := theirs[0]
		if n > uint64(8*(count-1)) || n > uint64(maxLen) {
			return nil, fmt.Errorf("protocol: round %d %s: party %d declared %d bytes in %d words", round, opBlob, p, n, count-1)
		}
		b := make([]byte, 8*(count-1))
		for i := 1; i < count; i++ {
			binary.LittleEndian.PutUint64(b[8*(i-1):], theirs[i])
		}
		out[p] = b[:n]
	}
	return out, nil
}

// Public turns a public tensor, known to every party, into a sharing of it: party 0
// holds the value, the others zero. No communication.
func (e *Engine) Public(x sharing.Tensor) sharing.Tensor {
	if e.self == 0 {
		return x.Clone()
	}
	return sharing.Zeros(x.Shape...)
}

// AddPublic returns a sharing of x + c for public c.
func (e *Engine) AddPublic(x, c sharing.Tensor) sharing.Tensor {
	if e.self == 0 {
		return sharing.Add(x, c)
	}
	return x.Clone()
}

// AddScalar returns a sharing of x + c for a public ring element c.
func (e *Engine) AddScalar(x sharing.Tensor, c uint64) sharing.Tensor {
	out := x.Clone()
	if e.self == 0 {
		for i := range out.Data {
			out.Data[i] += c
		}
	}
	return out
}

// addLanesInto adds the little-endian words of src into dst lane by lane: within
// each lane modulo its width, the lanes' top bits (top) added without carry out.
func addLanesInto(dst []uint64, src []byte, top uint64) {
	for i := range dst {
		a, b := dst[i], binary.LittleEndian.Uint64(src[8*i:])
		dst[i] = ((a &^ top) + (b &^ top)) ^ ((a ^ b) & top)
	}
}

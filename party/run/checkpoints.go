package run

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/party/checkpoint"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/protocol"
)

// checkpointer is one party's checkpointing: where it saves, and after the parties
// agree (agree), the run it belongs to and, on resume, the checkpoint every party
// continues from. A party without a checkpoint directory still takes part in the
// agreement (it offers nothing), so that parties never disagree silently on
// whether they resume.
type checkpointer struct {
	dir      string // "" : this party keeps no checkpoints
	resume   bool
	self     int
	cfg      *experiment.Config
	members  []string // the parties' identities (peer IDs; none in a simulation)
	dataHash string
	log      *slog.Logger

	// Set by agree.
	run     string
	resumes int
	layout  experiment.Layout
	from    *checkpoint.Checkpoint // the agreed checkpoint; nil on a fresh start
	nonce   []byte
	found   []checkpoint.Loaded // this party's intact checkpoints, on resume
}

func newCheckpointer(dir string, resume bool, self int, cfg *experiment.Config, members []string, own *dataset.Dataset, log *slog.Logger) (*checkpointer, error) {
	if resume && dir == "" {
		return nil, errors.New("--resume needs a checkpoint directory (checkpoint_dir in the node config, --checkpoint-dir for simulate)")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &checkpointer{dir: dir, resume: resume, self: self, cfg: cfg, members: members, dataHash: dataHash(own), log: log}, nil
}

// dataHash is a digest of a party's own data; it stays with the party.
func dataHash(d *dataset.Dataset) string {
	h := sha256.New()
	var buf [8]byte
	word := func(v float64) {
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v))
		h.Write(buf[:])
	}
	for i, row := range d.X {
		word(float64(len(row)))
		for _, v := range row {
			word(v)
		}
		if i < len(d.Y) {
			word(d.Y[i])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// offer is what a party tells its peers before they agree: whether it resumes,
// its share of a new run's identity, and the checkpoints it holds.
type offer struct {
	Resume bool   `json:"resume"`
	Nonce  string `json:"nonce,omitempty"` // hex, fresh starts
	Held   []held `json:"held,omitempty"`
}

type held struct {
	Step   int    `json:"step"`
	Digest string `json:"digest"`
}

// maxOfferBytes bounds a peer's offer; maxHeld the checkpoints it may list.
const (
	maxOfferBytes = 4096
	maxHeld       = 8
)

// makeOffer reads this party's checkpoints and checks them against the run it is
// started for (naming what differs).
func (c *checkpointer) makeOffer(lay experiment.Layout) (offer, error) {
	o := offer{Resume: c.resume}
	if !c.resume {
		if c.dir != "" {
			found, _, err := checkpoint.List(c.dir)
			if err != nil {
				return o, err
			}
			if len(found) > 0 {
				return o, fmt.Errorf("checkpoint directory %s holds checkpoints of an earlier run (newest: step %d): continue it with --resume, or remove them", c.dir, found[0].State.Step)
			}
		}
		c.nonce = make([]byte, 16)
		rand.Read(c.nonce) // never fails
		o.Nonce = hex.EncodeToString(c.nonce)
		return o, nil
	}
	found, skipped, err := checkpoint.List(c.dir)
	if err != nil {
		return o, err
	}
	for _, err := range skipped {
		c.log.Warn("skipping a checkpoint that is not intact", "err", err)
	}
	for _, ck := range found {
		if err := c.checkLocal(ck, lay); err != nil {
			return o, err
		}
		if len(o.Held) < maxHeld {
			o.Held = append(o.Held, held{Step: ck.State.Step, Digest: checkpoint.HexDigest(ck.Public.Digest())})
		}
	}
	c.found = found
	return o, nil
}

// checkLocal refuses a checkpoint of another party, experiment, party set, layout
// or data, naming what differs.
func (c *checkpointer) checkLocal(ck checkpoint.Loaded, lay experiment.Layout) error {
	if ck.Party != c.self {
		return fmt.Errorf("checkpoint %s is party %d's, this is party %d", ck.Path, ck.Party, c.self)
	}
	diffs, err := experiment.DiffConfigs(c.cfg.Canonical(), ck.Experiment)
	if err != nil {
		return fmt.Errorf("checkpoint %s: its experiment: %w", ck.Path, err)
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the experiment differs from checkpoint %s's (ours: now, theirs: the checkpoint): %s", ck.Path, strings.Join(diffs, "; "))
	}
	if !slices.Equal(ck.Public.Members, c.members) {
		for i := range max(len(c.members), len(ck.Public.Members)) {
			was, is := at(ck.Public.Members, i), at(c.members, i)
			if was != is {
				return fmt.Errorf("party %d changed since checkpoint %s: its id was %q, the config names %q", i, ck.Path, was, is)
			}
		}
	}
	if was, _ := json.Marshal(ck.Public.Layout); !slices.Equal(was, mustJSON(lay)) {
		return fmt.Errorf("the parties' data differ from checkpoint %s's: its layout %s, now %s", ck.Path, was, mustJSON(lay))
	}
	if ck.DataHash != c.dataHash {
		return fmt.Errorf("party %d's own data changed since checkpoint %s", c.self, ck.Path)
	}
	return nil
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

func mustJSON(v any) []byte {
	raw, _ := json.Marshal(v)
	return raw
}

// agree exchanges the parties' offers on a public engine (before the node's
// engine exists) and settles the run: on a fresh start, its identity from every
// party's nonce; on resume, the newest checkpoint all parties hold with the same
// public digest, from which they continue. A party without it, or with another
// digest, is an error naming it.
func (c *checkpointer) agree(ctx context.Context, e *protocol.Engine, lay experiment.Layout) error {
	c.layout = lay
	mine, err := c.makeOffer(lay)
	if err != nil {
		return err
	}
	all, err := e.ExchangeBlobs(ctx, mustJSON(mine), maxOfferBytes)
	if err != nil {
		return fmt.Errorf("exchanging checkpoint offers: %w", err)
	}
	offers := make([]offer, len(all))
	for p, raw := range all {
		if offers[p], err = parseOffer(raw); err != nil {
			return fmt.Errorf("party %d's checkpoint offer: %w", p, err)
		}
		if offers[p].Resume != c.resume {
			return fmt.Errorf("party %d was started %s --resume, this party %s: start every party with --resume, or none", p, with(offers[p].Resume), with(c.resume))
		}
	}
	if !c.resume {
		h := sha256.New()
		for _, o := range offers {
			h.Write([]byte(o.Nonce))
		}
		c.run = hex.EncodeToString(h.Sum(nil))
		return nil
	}
	return c.settle(offers)
}

func with(resume bool) string {
	if resume {
		return "with"
	}
	return "without"
}

func parseOffer(raw []byte) (offer, error) {
	var o offer
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, fmt.Errorf("malformed: %w", err)
	}
	if len(o.Held) > maxHeld {
		return o, fmt.Errorf("lists %d checkpoints (at most %d)", len(o.Held), maxHeld)
	}
	for _, h := range o.Held {
		if d, err := hex.DecodeString(h.Digest); err != nil || len(d) != sha256.Size || h.Step < 0 {
			return o, errors.New("a malformed checkpoint entry")
		}
	}
	if n, err := hex.DecodeString(o.Nonce); err != nil || (!o.Resume && len(n) != 16) {
		return o, errors.New("a malformed nonce")
	}
	return o, nil
}

// settle picks the newest step every party holds, checks the digests there and
// makes its checkpoint this party's starting point.
func (c *checkpointer) settle(offers []offer) error {
	step, found := -1, false
	for _, h := range offers[c.self].Held {
		all := true
		for _, o := range offers {
			all = all && slices.ContainsFunc(o.Held, func(x held) bool { return x.Step == h.Step })
		}
		if all && h.Step > step {
			step, found = h.Step, true
		}
	}
	if !found {
		var holds []string
		for p, o := range offers {
			steps := []int{}
			for _, h := range o.Held {
				steps = append(steps, h.Step)
			}
			holds = append(holds, fmt.Sprintf("party %d holds steps %v", p, steps))
		}
		return fmt.Errorf("no checkpoint is held by every party: %s", strings.Join(holds, ", "))
	}
	var ours string
	for _, h := range offers[c.self].Held {
		if h.Step == step {
			ours = h.Digest
		}
	}
	for p, o := range offers {
		for _, h := range o.Held {
			if h.Step == step && h.Digest != ours {
				return fmt.Errorf("party %d's checkpoint of step %d differs from this party's (public digest %.16s, ours %.16s): another run, experiment or party set", p, step, h.Digest, ours)
			}
		}
	}
	i := slices.IndexFunc(c.found, func(l checkpoint.Loaded) bool { return l.State.Step == step })
	c.from = c.found[i].Checkpoint
	c.run, c.resumes = c.from.Public.Run, c.from.Public.Resumes+1
	c.log.Info("resuming from a checkpoint", "step", step, "path", c.found[i].Path, "digest", ours[:16])
	// The newer checkpoints belong to an abandoned continuation.
	return checkpoint.DropAfter(c.dir, step)
}

// start is the preprocessing position training continues from.
func (c *checkpointer) start() uint64 {
	if c == nil || c.from == nil {
		return 0
	}
	return c.from.Public.Position
}

// state is the training state to continue from (nil: from the start).
func (c *checkpointer) state() *train.State {
	if c == nil || c.from == nil {
		return nil
	}
	return &c.from.State
}

// hook saves a checkpoint when training says one is due; position reports the
// node's preprocessing position. It is nil without a checkpoint directory.
func (c *checkpointer) hook(position func() uint64) func(context.Context, *train.State) error {
	if c == nil || c.dir == "" {
		return nil
	}
	hash := c.cfg.Hash()
	return func(_ context.Context, s *train.State) error {
		ck := &checkpoint.Checkpoint{
			Public: checkpoint.Public{Run: c.run, Resumes: c.resumes, Experiment: hex.EncodeToString(hash[:]), Layout: c.layout,
				Members: c.members, Step: s.Step, Position: position()},
			Party: c.self, Experiment: c.cfg.Canonical(), DataHash: c.dataHash, Written: time.Now().UTC(), State: *s,
		}
		path, err := checkpoint.Save(c.dir, ck)
		if err != nil {
			return err
		}
		c.log.Info("checkpoint written", "step", s.Step, "path", path)
		return nil
	}
}

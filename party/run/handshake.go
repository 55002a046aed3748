package run

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
)

// handshake checks that every party runs the same experiment and exchanges the
// layout, on a public-only engine: the node's engine does not exist yet, and no
// preprocessing (not even key material) moves before the parties agree. The node's
// engine numbers its rounds from 0 again; links are ordered, so the handshake's
// messages are read before any of the engine's. Last, the parties agree on their
// run and, resuming, on the checkpoint they continue from (ck.agree).
func handshake(ctx context.Context, tr protocol.Transport, cfg *experiment.Config, own, test *dataset.Dataset, ck *checkpointer) (experiment.Layout, error) {
	e, err := publicEngine(tr, cfg)
	if err != nil {
		return experiment.Layout{}, err
	}
	if err := checkSameExperiment(ctx, e, cfg, test); err != nil {
		return experiment.Layout{}, err
	}
	lay, err := exchangeLayout(ctx, e, cfg, own)
	if err != nil {
		return lay, err
	}
	return lay, ck.agree(ctx, e, lay)
}

// ProtocolVersion is what deployed nodes compare in their handshake.
const ProtocolVersion = "tessera/4" // 2: heartbeat and message-part frames; 3: checkpoint agreement; 4: the dealer node on a mux channel

// maxConfigBytes bounds the experiment config a peer may send.
const maxConfigBytes = 1 << 16

// checkSameExperiment compares the parties' experiment configs field by field, so
// that a mismatch says what differs, before any share moves. A digest of the
// public test rows rides along: every party must evaluate on the same rows (each
// reads them from its own copy of the files), or the metrics they report differ.
func checkSameExperiment(ctx context.Context, e *protocol.Engine, cfg *experiment.Config, test *dataset.Dataset) error {
	ours, err := agreedBlob(cfg, test)
	if err != nil {
		return err
	}
	all, err := e.ExchangeBlobs(ctx, ours, maxConfigBytes)
	if err != nil {
		return fmt.Errorf("exchanging experiment configs: %w", err)
	}
	for p, theirs := range all {
		if p == e.Self() {
			continue
		}
		diffs, err := experiment.DiffConfigs(ours, theirs)
		if err != nil {
			return fmt.Errorf("party %d's experiment config: %w", p, err)
		}
		if len(diffs) > 0 {
			return fmt.Errorf("party %d runs a different experiment: %s", p, strings.Join(diffs, "; "))
		}
	}
	return nil
}

// agreedBlob is the canonical experiment config with the digest of the public
// test rows added as the field public_test_rows.
func agreedBlob(cfg *experiment.Config, test *dataset.Dataset) ([]byte, error) {
	var fields map[string]any
	if err := json.Unmarshal(cfg.Canonical(), &fields); err != nil {
		return nil, fmt.Errorf("experiment config: %w", err)
	}
	fields["public_test_rows"] = testRowsDigest(test)
	return json.Marshal(fields)
}

// testRowsDigest is a SHA-256 of the test rows' shape, features and targets.
func testRowsDigest(test *dataset.Dataset) string {
	h := sha256.New()
	var word [8]byte
	put := func(v uint64) {
		binary.LittleEndian.PutUint64(word[:], v)
		h.Write(word[:])
	}
	if test != nil {
		put(uint64(test.Rows()))
		for i, row := range test.X {
			put(uint64(len(row)))
			for _, v := range row {
				put(math.Float64bits(v))
			}
			put(math.Float64bits(test.Y[i]))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Bounds on what a peer may declare it holds, so that a bad peer cannot make the
// others allocate without limit.
const (
	maxRows     = 1 << 26
	maxFeatures = 1 << 20
)

// exchangeLayout tells every party how many rows and columns each holds: public
// metadata every party needs to share its data and split batches.
func exchangeLayout(ctx context.Context, e *protocol.Engine, cfg *experiment.Config, own *dataset.Dataset) (experiment.Layout, error) {
	all, err := e.ExchangePublic(ctx, []uint64{uint64(own.Rows()), uint64(own.Features())})
	if err != nil {
		return experiment.Layout{}, fmt.Errorf("exchanging row counts: %w", err)
	}
	// Each party's part becomes one input whose shares every other party
	// allocates: bound each part's cells, and the total a party holds of its peers'
	// parts, before anything is allocated (the engine checks the same again).
	var peerCells uint64
	for p, w := range all {
		if w[0] == 0 || w[0] > maxRows || w[1] == 0 || w[1] > maxFeatures {
			return experiment.Layout{}, fmt.Errorf("party %d declares %d rows of %d columns (allowed: 1 to %d rows, 1 to %d columns)", p, w[0], w[1], maxRows, maxFeatures)
		}
		if cells := w[0] * w[1]; cells > protocol.MaxMessageElements {
			return experiment.Layout{}, fmt.Errorf("party %d declares %d rows of %d columns: %d cells exceed the bound of %d", p, w[0], w[1], cells, protocol.MaxMessageElements)
		}
		if p != e.Self() {
			peerCells += w[0] * w[1]
		}
	}
	if peerCells > protocol.DefaultMaxPeerInputElements {
		return experiment.Layout{}, fmt.Errorf("the other parties declare %d cells in all, more than the bound of %d", peerCells, protocol.DefaultMaxPeerInputElements)
	}
	if cfg.Dataset.Partition == experiment.PartitionVertical {
		lay := experiment.Layout{Vertical: true, Rows: own.Rows(), LabelHolder: cfg.Dataset.LabelHolder}
		for p, w := range all {
			if int(w[0]) != own.Rows() {
				return experiment.Layout{}, fmt.Errorf("vertical partition: party %d holds %d rows, this party %d", p, w[0], own.Rows())
			}
			lay.ColsPerParty = append(lay.ColsPerParty, int(w[1]))
			lay.Features += int(w[1])
		}
		return lay, nil
	}
	lay := experiment.Layout{Features: own.Features()}
	for p, w := range all {
		if int(w[1]) != own.Features() {
			return experiment.Layout{}, fmt.Errorf("party %d's rows have %d features, this party's %d", p, w[1], own.Features())
		}
		lay.RowsPerParty = append(lay.RowsPerParty, int(w[0]))
		lay.Rows += int(w[0])
	}
	return lay, nil
}

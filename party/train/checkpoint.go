package train

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// State is what one party needs to continue a secure training after a step: its
// shares of the model and of the momentum buffers, its share of the epoch's
// squared errors so far, and what it has reported and opened. Training data is
// shared again on resume (fresh shares of the same values), so it is not saved.
//
// A checkpoint is taken after a step's update and before anything of its epoch
// is opened: a party opens an epoch's outputs only once it has durably saved the
// state they are computed from, so a resumed run opens the same model, loss total
// and range bit again, never a model computed with other randomness.
type State struct {
	// Step is the number of steps done in all.
	Step int `json:"step"`
	// RowsSeen counts the epoch's rows so far (for its training loss).
	RowsSeen int           `json:"rows_seen"`
	Epochs   []EpochReport `json:"epochs"`
	Openings []Opening     `json:"openings"`
	Elapsed  time.Duration `json:"elapsed_ns"`

	// Shares: never in the JSON.
	W, B, VW, VB []sharing.Tensor `json:"-"`
	SSE          sharing.Tensor   `json:"-"`
}

// Tensors lists the state's shares in a fixed order: W, B, VW, VB per layer, then SSE.
func (s *State) Tensors() []sharing.Tensor {
	var out []sharing.Tensor
	for _, group := range [][]sharing.Tensor{s.W, s.B, s.VW, s.VB} {
		out = append(out, group...)
	}
	return append(out, s.SSE)
}

// SetTensors is the inverse of Tensors.
func (s *State) SetTensors(ts []sharing.Tensor) error {
	if len(ts) == 0 || (len(ts)-1)%4 != 0 {
		return fmt.Errorf("%d tensors is not 4 per layer and one more", len(ts))
	}
	k := (len(ts) - 1) / 4
	s.W, s.B, s.VW, s.VB = ts[:k:k], ts[k:2*k:2*k], ts[2*k:3*k:3*k], ts[3*k:4*k:4*k]
	s.SSE = ts[4*k]
	return nil
}

// CheckpointDue says whether a checkpoint is taken after step st: at the end of
// every epoch (before its outputs are opened), and every `every` steps (0: only
// at epochs' ends).
func CheckpointDue(every int, st experiment.Step) bool {
	return st.LastOfEpoch || (every > 0 && st.Done%every == 0)
}

// newNetwork is the network training starts from: the public initial model, or a
// resumed state's shares.
func newNetwork(e *protocol.Engine, cfg *experiment.Config, spec nn.Spec, from *State) (*nn.Secure, error) {
	if from == nil {
		return nn.NewSecure(e, spec, nn.InitParams(spec, cfg.InitSeed()))
	}
	net, err := nn.SecureFromState(e, spec, from.W, from.B, from.VW, from.VB)
	if err == nil && from.SSE.Len() != spec.Outputs() {
		err = fmt.Errorf("a share of the epoch's squared errors of %d values for %d outputs", from.SSE.Len(), spec.Outputs())
	}
	if err != nil {
		return nil, fmt.Errorf("party %d: resuming from step %d: %w", e.Self(), from.Step, err)
	}
	return net, nil
}

// epochProgress is a training loop's position and its epoch's accumulators.
type epochProgress struct {
	resumed  int // steps done before this run (a resumed state's Step)
	sse      sharing.Tensor
	rowsSeen int
	start    time.Time
}

func newEpochProgress(targetCols int, res *SecureResult, from *State) *epochProgress {
	p := &epochProgress{sse: sharing.Zeros(1, targetCols), start: time.Now()}
	if from == nil {
		return p
	}
	p.resumed, p.rowsSeen, p.start = from.Step, from.RowsSeen, time.Now().Add(-from.Elapsed)
	p.sse = from.SSE.Clone() // its size is checked by newNetwork
	res.Epochs = append(res.Epochs, from.Epochs...)
	res.Openings = append([]Opening(nil), from.Openings...)
	return p
}

// checkpoint hands the state after step st to the hook, when one is due.
func (p *epochProgress) checkpoint(ctx context.Context, cfg *experiment.Config, hooks Hooks, net *nn.Secure, res *SecureResult, st experiment.Step) error {
	if hooks.Checkpoint == nil || !CheckpointDue(cfg.Training.CheckpointEvery, st) {
		return nil
	}
	w, b := net.Shares()
	vw, vb := net.Momentum()
	s := &State{Step: st.Done, RowsSeen: p.rowsSeen, Epochs: res.Epochs, Openings: res.Openings,
		Elapsed: time.Since(p.start), W: w, B: b, VW: vw, VB: vb, SSE: p.sse}
	if err := hooks.Checkpoint(ctx, s); err != nil {
		return fmt.Errorf("checkpoint after step %d: %w", st.Done, err)
	}
	return nil
}

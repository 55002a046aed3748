package party

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// pipelineDepth bounds how many requests a pipelined source keeps ready.
const pipelineDepth = 64

// RecordPlan finds the preprocessing requests a run of cfg with this layout will
// make: requests depend only on public shapes, so a dry run on zero data of the
// same shapes, with an in-process dealer, records them exactly. Every party can
// compute it alone.
func RecordPlan(ctx context.Context, cfg *Config, lay Layout, task dataset.Task, classes int, test *dataset.Dataset) (*protocol.Plan, error) {
	n := lay.Parties()
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		return nil, err
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		return nil, err
	}
	dry := *cfg
	var recorder *protocol.Recorder
	err = runParties(ctx, n, func(i int) { ts[i].Close() }, func(ctx context.Context, i int) error {
		src, err := dealer.Source(i)
		if err != nil {
			return err
		}
		if i == 0 {
			recorder = protocol.NewRecorder(src)
			src = recorder
		}
		e, err := protocol.NewEngine(ts[i], src, protocol.Config{Codec: sharing.Codec{FracBits: cfg.Precision}, Parties: n, Opening: cfg.Opening})
		if err != nil {
			return err
		}
		_, err = TrainSecure(ctx, &dry, e, Local{Own: zeroPart(lay, i, task, classes), Layout: lay, Test: test}, Hooks{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recording the preprocessing plan: %w", err)
	}
	return recorder.Plan(), nil
}

// zeroPart is party p's part of a layout, filled with zeros.
func zeroPart(lay Layout, p int, task dataset.Task, classes int) *dataset.Dataset {
	rows, cols := lay.Rows, lay.Features
	if lay.Vertical {
		cols = lay.ColsPerParty[p]
	} else {
		rows = lay.RowsPerParty[p]
	}
	d := &dataset.Dataset{Name: "dry-run", Task: task, Classes: classes, X: make([][]float64, rows), Y: make([]float64, rows)}
	for i := range d.X {
		d.X[i] = make([]float64, cols)
	}
	return d
}

// pipelined wraps a dealer-free source as the config's preprocessing mode says; it
// returns the source to use, the time an offline-first phase took, and a stop
// function.
func pipelined(ctx context.Context, cfg *Config, src protocol.Source, plan *protocol.Plan) (protocol.Source, time.Duration, func(), error) {
	switch cfg.PreprocessingMode {
	case PrepOnDemand:
		return src, 0, func() {}, nil
	case PrepOfflineFirst:
		start := time.Now()
		p := protocol.NewPipeline(ctx, src, plan, 0)
		if err := p.Wait(ctx); err != nil {
			p.Close()
			return nil, 0, nil, fmt.Errorf("offline phase: %w", err)
		}
		return p, time.Since(start), p.Close, nil
	default:
		p := protocol.NewPipeline(ctx, src, plan, pipelineDepth)
		return p, 0, p.Close, nil
	}
}

package run

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/protocol"
)

// RecordPlan finds the preprocessing requests a run of cfg with this layout will
// make: requests depend only on public shapes, so a dry run on zero data of the
// same shapes, with an in-process dealer, records them exactly. Every party can
// compute it alone.
func RecordPlan(ctx context.Context, cfg *experiment.Config, lay experiment.Layout, task dataset.Task, classes int, test *dataset.Dataset) (*protocol.Plan, error) {
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
		nd, err := buildNode(ctx, nodeSpec{cfg: &dry, self: i, links: links{online: ts[i]}, material: material{dealer: dealer, record: i == 0}, engine: engineConfig(&dry, Randomness{}, i)})
		if err != nil {
			return err
		}
		if i == 0 {
			recorder = nd.recorder
		}
		_, err = train.Secure(ctx, &dry, nd.engine, train.Local{Own: zeroPart(lay, i, task, classes), Layout: lay, Test: test}, train.Hooks{})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("recording the preprocessing plan: %w", err)
	}
	return recorder.Plan(), nil
}

// zeroPart is party p's part of a layout, filled with zeros.
func zeroPart(lay experiment.Layout, p int, task dataset.Task, classes int) *dataset.Dataset {
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

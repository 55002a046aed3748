package run

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-mpc/tessera/dataset"
	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// exchangeWith runs exchangeLayout among parties holding the given data.
func exchangeWith(t *testing.T, partition experiment.Partition, own []*dataset.Dataset) ([]experiment.Layout, []error) {
	t.Helper()
	n := len(own)
	ts, _ := network.NewMemoryNetwork(n)
	d, _ := protocol.NewDealer(n, rand.Reader)
	cfg := &experiment.Config{Parties: n, Dataset: experiment.DatasetConfig{Partition: partition}}
	lays, errs := make([]experiment.Layout, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range own {
		wg.Go(func() {
			src, _ := d.Source(i)
			e, err := protocol.NewEngine(ts[i], src, protocol.Config{Codec: sharing.Codec{FracBits: 16}})
			if err != nil {
				errs[i] = err
				return
			}
			lays[i], errs[i] = exchangeLayout(context.Background(), e, cfg, own[i])
		})
	}
	wg.Wait()
	return lays, errs
}

func table(rows, cols int) *dataset.Dataset {
	d := &dataset.Dataset{Task: dataset.Regression}
	for i := 0; i < rows; i++ {
		d.X = append(d.X, make([]float64, cols))
		d.Y = append(d.Y, 0)
	}
	return d
}

func TestExchangeLayout(t *testing.T) {
	lays, errs := exchangeWith(t, experiment.PartitionContiguous, []*dataset.Dataset{table(3, 4), table(5, 4), table(2, 4)})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	if l := lays[1]; l.Rows != 10 || l.Features != 4 || len(l.RowsPerParty) != 3 || l.RowsPerParty[1] != 5 {
		t.Fatalf("horizontal layout %+v", l)
	}
	lays, errs = exchangeWith(t, experiment.PartitionVertical, []*dataset.Dataset{table(6, 2), table(6, 3)})
	if errs[0] != nil || lays[0].Features != 5 || lays[0].ColsPerParty[1] != 3 {
		t.Fatalf("vertical layout %+v, %v", lays[0], errs[0])
	}
	// A party whose rows have other columns, or that holds nothing, stops everyone.
	_, errs = exchangeWith(t, experiment.PartitionContiguous, []*dataset.Dataset{table(3, 4), table(3, 5)})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "party 1") {
		t.Fatalf("mismatched features: %v", errs[0])
	}
	_, errs = exchangeWith(t, experiment.PartitionContiguous, []*dataset.Dataset{table(3, 4), table(0, 4)})
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "party 1 declares 0 rows") {
		t.Fatalf("empty party: %v", errs[0])
	}
}

// A peer that declares a part whose cell count (not each dimension alone) would
// make the others allocate without bound is refused before anything is allocated.
func TestExchangeLayoutBoundsDeclaredCells(t *testing.T) {
	ts, _ := network.NewMemoryNetwork(2)
	cfg := &experiment.Config{Parties: 2, Dataset: experiment.DatasetConfig{Partition: experiment.PartitionContiguous}}
	engine := func(i int) *protocol.Engine {
		e, err := protocol.NewEngine(ts[i], noMaterial, protocol.Config{Codec: sharing.Codec{FracBits: 16}})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e0, e1 := engine(0), engine(1)
	go e1.ExchangePublic(context.Background(), []uint64{maxRows, 784}) //nolint:errcheck // the lying peer
	_, err := exchangeLayout(context.Background(), e0, cfg, table(3, 784))
	if err == nil || !strings.Contains(err.Error(), "party 1 declares") || !strings.Contains(err.Error(), "cells") {
		t.Fatalf("a peer declaring %d x 784 cells: %v", maxRows, err)
	}
}

package serve

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/sharing"
)

// secureArgmax runs argmaxRows among n parties on the logits (shared by
// splitting party 0's copy) and returns the decoded indices.
func secureArgmax(t *testing.T, n int, logits [][]float64) []float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	codec := sharing.Codec{FracBits: 16}
	rows, cols := len(logits), len(logits[0])
	net, err := network.NewMemoryNetwork(n)
	if err != nil {
		t.Fatal(err)
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	flat := make([]float64, 0, rows*cols)
	for _, r := range logits {
		flat = append(flat, r...)
	}
	plain, err := codec.EncodeTensor(flat, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]sharing.Tensor, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			src, err := dealer.SourceAt(i, 0)
			if err != nil {
				errs[i] = err
				return
			}
			e, err := protocol.NewEngine(net[i], src, protocol.Config{Codec: codec, Parties: n, Rand: rand.Reader})
			if err != nil {
				errs[i] = err
				return
			}
			mine := sharing.Tensor{}
			if i == 0 {
				mine = plain
			}
			x, err := e.Input(ctx, 0, mine, rows, cols)
			if err != nil {
				errs[i] = err
				return
			}
			before := e.Rounds()
			y, err := argmaxRows(ctx, e, x)
			if got, want := e.Rounds()-before, uint64(protocol.MaxRowsArgRounds(n, cols)); err == nil && got != want {
				err = fmt.Errorf("party %d: argmax in %d rounds, want %d", i, got, want)
			}
			if err == nil {
				var open []sharing.Tensor
				if open, err = e.Open(ctx, y); err == nil {
					out[i] = open[0]
				}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return codec.DecodeTensor(out[0])
}

// TestArgmaxRowsTies: the parties' argmax equals the plaintext one, the
// lowest index among equal maxima, ties of two, of all columns and of the
// last columns included, negative and large logits included.
func TestArgmaxRowsTies(t *testing.T) {
	logits := [][]float64{
		{0.5, 2, 2, -1},
		{0, 0, 0, 0},
		{-3, -1, -2, -1},
		{-5, -5, -5, -4.99998},
		{1000, -1000, 999.99998, 1000},
		{0.25, 0.25, 0.25, 7},
		{-0.00002, -0.00002, -0.00003, -0.00002},
		{3, 1, 2, 0},
	}
	for _, n := range []int{2, 3} {
		got := secureArgmax(t, n, logits)
		for r, row := range logits {
			if want := plainArgmax(row); got[r] != float64(want) {
				t.Errorf("%d parties, row %d %v: argmax %v, want %d", n, r, row, got[r], want)
			}
		}
	}
}

// TestArgmaxRowsRefusesOneColumn: one column has no argmax to compute.
func TestArgmaxRowsRefusesOneColumn(t *testing.T) {
	if _, err := argmaxRows(context.Background(), nil, sharing.Zeros(3, 1)); err == nil {
		t.Fatal("an argmax of one column was computed")
	}
}

func plainArgmax(v []float64) int {
	best := 0
	for j, x := range v {
		if x > v[best] {
			best = j
		}
	}
	return best
}

// TestOutputKindsArgmax: a model of several outputs offers the argmax, a
// model of one output does not (its queries asking for it are refused).
func TestOutputKindsArgmax(t *testing.T) {
	id, err := nn.ActivationByName("identity")
	if err != nil {
		t.Fatal(err)
	}
	for outs, want := range map[int]bool{1: false, 2: true, 10: true} {
		spec := nn.Spec{Inputs: 3, Layers: []nn.Layer{{Units: outs, Activation: id}}, Loss: nn.LossCrossEntropy}
		lim := Limits{Outputs: outputKinds(spec)}
		if got := lim.answers(OutputArgmax); got != want {
			t.Errorf("%d outputs: argmax offered %v, want %v", outs, got, want)
		}
	}
}

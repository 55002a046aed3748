package serve_test

import (
	"testing"

	"github.com/tessera-mpc/tessera/party/serve"
	"github.com/tessera-mpc/tessera/protocol/he"
)

// TestQueryLayoutFillsCiphertexts: rows are laid end to end across
// ciphertexts, so 1,024 MNIST rows take 49 ciphertexts (whole rows per
// ciphertext took 52), every ciphertext but the last is full, and the values
// add up to the rows'.
func TestQueryLayoutFillsCiphertexts(t *testing.T) {
	if got := serve.CiphertextsFor(1024, 784); got != 49 {
		t.Fatalf("1,024 rows of 784 features in %d ciphertexts, want 49", got)
	}
	for _, c := range []struct{ rows, width int }{{1024, 784}, {1, 784}, {1200, 30}, {7, 10}, {1638, 10}, {1639, 10}} {
		n, total := serve.CiphertextsFor(c.rows, c.width), 0
		for k := range n {
			v := serve.ValuesIn(k, c.rows, c.width)
			if v < 1 || v > he.MaxValues || (k < n-1 && v != he.MaxValues) {
				t.Fatalf("%d rows of %d: ciphertext %d of %d holds %d values", c.rows, c.width, k, n, v)
			}
			total += v
		}
		if total != c.rows*c.width {
			t.Fatalf("%d rows of %d: the ciphertexts hold %d values", c.rows, c.width, total)
		}
	}
}

// TestServeRowsStraddleCiphertexts: a query whose rows straddle ciphertexts
// (1,200 rows of 30 features: rows 546 and 1,092 cross a boundary) gets the
// plaintext model's outputs.
func TestServeRowsStraddleCiphertexts(t *testing.T) {
	c := startCluster(t, 3, nil, func(cfg *serve.Config) { cfg.MaxRows = 1200 })
	rows := testRows(1200, 30, 5)
	got, err := predict(t, c.dial(t, 0, ""), rows)
	if err != nil {
		t.Fatal(err)
	}
	c.checkPredictions(t, rows, got)
}

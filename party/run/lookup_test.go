package run

import (
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
)

// TestLookupComparisonsOnlyWithADealer: engines compare by lookup (material
// only a dealer makes) exactly when the preprocessing is a dealer's; the
// dealer-free engines, and the dry runs that record their plans from the same
// config, keep the adder.
func TestLookupComparisonsOnlyWithADealer(t *testing.T) {
	for prep, want := range map[experiment.Preprocessing]bool{experiment.PrepDealer: true, experiment.PrepHE: false} {
		cfg := &experiment.Config{Preprocessing: prep, Parties: 3, Precision: 16}
		for self := range cfg.Parties {
			if got := engineConfig(cfg, Randomness{}, self).LookupComparisons; got != want {
				t.Errorf("%s preprocessing, party %d: lookup comparisons %v, want %v", prep, self, got, want)
			}
		}
	}
}

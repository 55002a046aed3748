package experiment

import "github.com/tessera-mpc/tessera/dataset"

// ScaledFeatures is a party's features after the config's scaling.
type ScaledFeatures struct {
	Own, Test [][]float64
	// scaler is the global standardizer (nil without scaling).
	Scaler *dataset.Standardizer
}

// scale applies the config's feature scaling to a party's own columns (from
// column firstCol of the whole table) and to the test rows (nil when none are
// held out). fit gives the global standardizer: from a secure sum of the parties'
// column totals in secure training, from the whole training set in plaintext.
func Scale(cfg *Config, fit func() (dataset.Standardizer, error), own [][]float64, firstCol int, test [][]float64) (ScaledFeatures, error) {
	if cfg.Dataset.Scaling != ScaleStandardize {
		return ScaledFeatures{Own: own, Test: test}, nil
	}
	s, err := fit()
	if err != nil {
		return ScaledFeatures{}, err
	}
	out := ScaledFeatures{Own: own, Test: test, Scaler: &s}
	if len(own) > 0 {
		cols := firstCol + len(own[0])
		out.Own = dataset.Standardizer{Mean: s.Mean[firstCol:cols], Std: s.Std[firstCol:cols]}.Apply(own)
	}
	if test != nil {
		out.Test = s.Apply(test)
	}
	return out, nil
}

// FitInTheClear fits the standardizer on a whole training set: for the plaintext
// reference and benchmarks, which see all rows.
func FitInTheClear(x [][]float64) func() (dataset.Standardizer, error) {
	return func() (dataset.Standardizer, error) {
		sum, sumSq := dataset.ColumnSums(x)
		return dataset.FitStandardizer(sum, sumSq, len(x))
	}
}

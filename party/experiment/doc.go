// Package experiment is what a run is: the experiment config (strict YAML, typed
// values, validation in one place, the hash every party compares), the data the
// parties hold (loading, holding out test rows, partitioning, the public layout),
// feature scaling, and the public schedule of batches that secure training, its
// plaintext twin and the benchmark all follow.
package experiment

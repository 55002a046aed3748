// Package report is what a run leaves behind: the results JSON (metrics, costs,
// versions), the per-epoch table and cost summary it prints, metrics.csv and the
// PNG plots, and saved models (in the clear, or one party's share).
package report

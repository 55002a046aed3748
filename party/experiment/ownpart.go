package experiment

import (
	"fmt"

	"github.com/tessera-mpc/tessera/dataset"
)

// LoadOwnPart loads what party self of a deployment holds: its part of the
// training set (bit-identical to LoadSplit's Parts[self]) and the test rows.
// For MNIST split by rows it converts only this party's rows to float64, so a
// party never holds the whole training set; other datasets are small and go
// through LoadSplit. CSV experiments have their own loader (LoadOwnCSV).
func LoadOwnPart(cfg *Config, self int) (own, test *dataset.Dataset, err error) {
	if self < 0 || self >= cfg.Parties {
		return nil, nil, fmt.Errorf("party %d: the experiment has parties 0 to %d", self, cfg.Parties-1)
	}
	if cfg.Dataset.CSV != nil || !isMNIST(cfg) || cfg.Dataset.Partition == PartitionVertical {
		split, err := LoadSplit(cfg)
		if err != nil {
			return nil, nil, err
		}
		return split.Parts[self], split.Test, nil
	}
	trainRows, testRows := mnistRows(cfg)
	if trainRows < cfg.Parties {
		return nil, nil, fmt.Errorf("dataset mnist: %d training rows cannot be split among %d parties", trainRows, cfg.Parties)
	}
	bounds, err := dataset.ContiguousBlocks(trainRows, cfg.Parties)
	if err != nil {
		return nil, nil, fmt.Errorf("dataset.partition: %w", err)
	}
	rows := seq(trainRows)
	if cfg.Dataset.Partition == PartitionRandom {
		rows = dealtOrder(cfg, trainRows)
	}
	own, test, err = dataset.LoadMNISTRows(dataset.LoadOptions{Dir: cfg.Dataset.Dir}, trainRows, testRows, rows[bounds[self]:bounds[self+1]])
	if err != nil {
		return nil, nil, err
	}
	if err := own.Validate(); err != nil {
		return nil, nil, err
	}
	if err := CheckModelFits(cfg, own.Features(), TargetColumns(own.Task, own.Classes)); err != nil {
		return nil, nil, err
	}
	return own, test, nil
}

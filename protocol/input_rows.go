package protocol

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// InputRows secret-shares a rows x cols matrix held by party owner, exactly as
// Input does (the same round, the same seed to each peer, the same shares), but
// returns this party's share as rows read on demand rather than as one tensor. The
// owner's share is its masked matrix, held in memory like its data; a peer's share
// is the seed's expansion, computed a row at a time when read and never held whole,
// so a peer's training set costs 16 bytes, not its size. Reading every row gives
// what Input returns.
//
// Nothing is allocated for a peer's matrix, so unlike Input it is not charged to
// the session's bound on peers' inputs; its shape must still be in range.
func (e *Engine) InputRows(ctx context.Context, owner int, x sharing.Tensor, rows, cols int) (sharing.RowSource, error) {
	defer e.account("input", time.Now(), 1, 0)
	mine, seed, err := e.shareInput(ctx, owner, x, []int{rows, cols}, checkRowsShape)
	if err != nil {
		return nil, err
	}
	if owner == e.self {
		return sharing.TensorRows(mine), nil
	}
	return sharing.SeededRows(seed, 0, rows, cols), nil
}

// maxRowsElements bounds a matrix shared by InputRows: its word offsets must fit
// the PRG's counter arithmetic with room to spare.
const maxRowsElements = 1 << 48

// checkRowsShape checks a matrix's public shape before a row-wise input.
func checkRowsShape(owner int, shape []int) error {
	rows, cols := shape[0], shape[1]
	if rows < 0 || cols < 0 || (cols > 0 && rows > maxRowsElements/cols) {
		return fmt.Errorf("party %d's input of shape %v: dimension out of range", owner, shape)
	}
	return nil
}

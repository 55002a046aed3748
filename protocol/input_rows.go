package protocol

import (
	"context"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// InputRows secret-shares a rows x cols matrix held by party owner, exactly as
// Input does (the same round, the same seed to each peer, the same shares), but
// returns this party's share as rows computed when read, never the whole matrix.
// The owner passes its matrix as rows (others pass nil) and must keep it unchanged
// while the share is read; its share is those rows minus the expansions of the
// seeds it sent (sharing.MaskedRows). A peer's share is its seed's expansion
// (sharing.SeededRows): 16 bytes, whatever the size of the matrix. Reading every
// row gives what Input returns.
//
// Nothing is allocated for a peer's matrix, so unlike Input it is not charged to
// the session's bound on peers' inputs; its shape must still be in range.
func (e *Engine) InputRows(ctx context.Context, owner int, x sharing.RowSource, rows, cols int) (sharing.RowSource, error) {
	defer e.account("input", time.Now(), 1, 0)
	if owner == e.self {
		if x == nil {
			return nil, fmt.Errorf("protocol: input of shape [%d %d]: no rows given", rows, cols)
		}
		if r, c := x.Dims(); r != rows || c != cols {
			return nil, fmt.Errorf("protocol: input of shape [%d %d] does not match declared shape [%d %d]", r, c, rows, cols)
		}
	}
	seeds, err := e.shareInput(ctx, owner, []int{rows, cols}, checkRowsShape)
	if err != nil {
		return nil, err
	}
	if owner == e.self {
		return sharing.MaskedRows(x, 0, seeds...), nil
	}
	return sharing.SeededRows(seeds[0], 0, rows, cols), nil
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

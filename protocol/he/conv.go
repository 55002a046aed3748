package he

import "github.com/tessera-mpc/tessera/protocol"

// maskOperand is this party's plaintext operand for a mask reference in a mask
// product: its share of the mask, or of the mask's unfolding (im2col) for a
// convolution. Unfolding is linear, so the unfolded shares sum to the unfolded
// mask and the matrix-triple protocol gives shares of Unfold(A)·B; what is
// encrypted and masked is the unfolded operand, about Kernel^2/Stride^2 times the
// mask's size, all local to the party.
func (p *Party) maskOperand(r protocol.MaskRef) ([]uint64, [2]int, error) {
	return protocol.UnfoldMask(p.operand(labelA, r.ID, r.Rows*r.Cols), r)
}

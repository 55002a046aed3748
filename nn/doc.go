// Package nn trains feed-forward networks on secret shares (Secure, over a
// protocol.Engine) and, as the reference every secure result is checked against,
// the same networks in float64 with gonum (Plain). Both start from the same
// Params and see the same batches in the same order, so they differ only by
// fixed-point error.
//
// A network is a sequence of layers (dense, conv2d, max and average pooling,
// flatten, activations) written once over an arithmetic (model.go): Plain and
// Secure supply the primitives (products, activations, maxima, scaling) in
// float64 and on shares, and share everything else, so the twin follows the
// secure model by construction. Images travel one per row in height, width,
// channel order; a convolution is a product with the unfolded (im2col) input.
package nn

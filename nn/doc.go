// Package nn trains feed-forward networks on secret shares (Secure, over a
// protocol.Engine) and, as the reference every secure result is checked against,
// the same networks in float64 with gonum (Plain). Both start from the same
// Params and see the same batches in the same order, so they differ only by
// fixed-point error.
//
// Activations here need no comparison: every one is a polynomial (identity,
// square, and least-squares polynomial fits of ReLU and sigmoid on a stated
// interval), so its forward and backward passes are Beaver products.
package nn

package protocol

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/tessera-mpc/tessera/sharing"
)

// Conv2D is the geometry of a 2-D convolution over images stored one per row in
// HWC order (height, then width, then channel varying fastest). Unfolding (im2col)
// turns each image into Patches() rows of PatchSize() entries, a patch's entries in
// (kernel row, kernel column, channel) order, zero where the window covers padding;
// a convolution with a (PatchSize x maps) kernel matrix is then a matrix product,
// and its output rows, read back Patches() at a time, are the output images in HWC
// order. The zero value means "no unfolding".
type Conv2D struct {
	Channels, Height, Width int
	Kernel, Stride, Pad     int
}

// IsZero reports whether c is the zero value (no convolution).
func (c Conv2D) IsZero() bool { return c == Conv2D{} }

// Validate checks the geometry: positive sizes, a kernel that fits the padded
// input, and sizes within MaxMessageElements. It is overflow-safe for any field
// values (a dealer validates geometries a party sent).
func (c Conv2D) Validate() error {
	for _, v := range []int{c.Channels, c.Height, c.Width, c.Kernel, c.Stride, c.Pad} {
		if v < 0 || v > MaxMessageElements {
			return fmt.Errorf("protocol: convolution %+v: a size is out of range", c)
		}
	}
	if c.Channels < 1 || c.Height < 1 || c.Width < 1 || c.Kernel < 1 || c.Stride < 1 {
		return fmt.Errorf("protocol: convolution %+v: sizes must be positive", c)
	}
	if c.Kernel > c.Height+2*c.Pad || c.Kernel > c.Width+2*c.Pad {
		return fmt.Errorf("protocol: convolution kernel %d is larger than the %dx%d input with padding %d", c.Kernel, c.Height, c.Width, c.Pad)
	}
	if c.Pad >= c.Kernel {
		// A window that covers only padding would be a patch of zeros; refuse it.
		return fmt.Errorf("protocol: convolution padding %d with kernel %d leaves windows of padding alone", c.Pad, c.Kernel)
	}
	// Each product of two in-range factors fits in an int64; check after each.
	input, inOK := boundedProduct(c.Channels, c.Height, c.Width)
	patch, patchOK := boundedProduct(c.Kernel, c.Kernel, c.Channels)
	patches, patchesOK := boundedProduct(c.OutHeight(), c.OutWidth())
	if !inOK || !patchOK || !patchesOK || input < 1 || int64(patches)*int64(patch) > MaxMessageElements {
		return fmt.Errorf("protocol: convolution %+v is too large", c)
	}
	return nil
}

// boundedProduct multiplies factors in [0, MaxMessageElements] and reports
// whether the product stays within MaxMessageElements.
func boundedProduct(factors ...int) (int, bool) {
	p := int64(1)
	for _, f := range factors {
		if p *= int64(f); p > MaxMessageElements {
			return 0, false
		}
	}
	return int(p), true
}

// OutHeight and OutWidth are the output image's size.
func (c Conv2D) OutHeight() int { return (c.Height+2*c.Pad-c.Kernel)/c.Stride + 1 }
func (c Conv2D) OutWidth() int  { return (c.Width+2*c.Pad-c.Kernel)/c.Stride + 1 }

// Patches is the number of windows per image (rows of its unfolding).
func (c Conv2D) Patches() int { return c.OutHeight() * c.OutWidth() }

// PatchSize is the number of entries of a window (columns of the unfolding).
func (c Conv2D) PatchSize() int { return c.Kernel * c.Kernel * c.Channels }

// InputSize is the number of entries of one input image.
func (c Conv2D) InputSize() int { return c.Height * c.Width * c.Channels }

// UnfoldIndex maps every entry of one image's unfolding (Patches x PatchSize,
// row-major) to the input entry it copies, or -1 for padding.
func (c Conv2D) UnfoldIndex() []int {
	idx := make([]int, 0, c.Patches()*c.PatchSize())
	for oy := 0; oy < c.OutHeight(); oy++ {
		for ox := 0; ox < c.OutWidth(); ox++ {
			for ky := 0; ky < c.Kernel; ky++ {
				for kx := 0; kx < c.Kernel; kx++ {
					y, x := oy*c.Stride+ky-c.Pad, ox*c.Stride+kx-c.Pad
					for ch := 0; ch < c.Channels; ch++ {
						if y < 0 || y >= c.Height || x < 0 || x >= c.Width {
							idx = append(idx, -1)
						} else {
							idx = append(idx, (y*c.Width+x)*c.Channels+ch)
						}
					}
				}
			}
		}
	}
	return idx
}

// Unfold returns the unfolding (im2col) of x, whose rows are images: a
// (rows*Patches) x PatchSize matrix. It is linear, so the unfolding of a sharing
// is a sharing of the unfolding.
func (c Conv2D) Unfold(x sharing.Tensor) sharing.Tensor {
	rows := x.Len() / c.InputSize()
	idx := c.UnfoldIndex()
	out := sharing.Zeros(rows*c.Patches(), c.PatchSize())
	for r := 0; r < rows; r++ {
		src, dst := x.Data[r*c.InputSize():(r+1)*c.InputSize()], out.Data[r*len(idx):(r+1)*len(idx)]
		for j, s := range idx {
			if s >= 0 {
				dst[j] = src[s]
			}
		}
	}
	return out
}

// Fold is the adjoint of Unfold (col2im): every entry of the (rows*Patches) x
// PatchSize matrix is added to the input entry it was copied from. It turns the
// gradient of an unfolding into the gradient of the images.
func (c Conv2D) Fold(u sharing.Tensor) sharing.Tensor {
	idx := c.UnfoldIndex()
	rows := u.Len() / len(idx)
	out := sharing.Zeros(rows, c.InputSize())
	for r := 0; r < rows; r++ {
		src, dst := u.Data[r*len(idx):(r+1)*len(idx)], out.Data[r*c.InputSize():(r+1)*c.InputSize()]
		for j, s := range idx {
			if s >= 0 {
				dst[s] += src[j]
			}
		}
	}
	return out
}

// ConvMasked returns a sharing of op(Unfold(x))·op(y) for masked matrices x (rows
// are images of geometry c) and y, with no communication: with D, E the opened
// differences and A, B the masks, Unfold(X)·Y = Unfold(D)(B+E) + Unfold(A)·E +
// Unfold(A)·B, and Unfold(A)·B is a mask product whose left operand is the
// unfolded mask (a KindMaskProduct request with X.Unfold set). So a convolution
// opens the images and the kernel once, never the unfolded copy, which is
// Patches*PatchSize / InputSize times larger (about Kernel^2 / Stride^2).
//
// Forward (op = identity on both) gives the convolution's pre-activation;
// transX with a masked output gradient gives the kernel gradient.
func (e *Engine) ConvMasked(ctx context.Context, x *Masked, c Conv2D, transX bool, y *Masked, transY bool) (sharing.Tensor, error) {
	if err := c.Validate(); err != nil {
		return sharing.Tensor{}, err
	}
	if x.mask.Cols != c.InputSize() {
		return sharing.Tensor{}, fmt.Errorf("protocol: ConvMasked: rows of %d entries are not %dx%dx%d images", x.mask.Cols, c.Channels, c.Height, c.Width)
	}
	start := time.Now()
	xr := x.mask
	xr.Unfold = c
	return e.maskedProduct(ctx, start, "ConvMasked", "conv-masked", xr, c.Unfold(x.D), c.Unfold(x.A), transX, y, transY)
}

// UnfoldMask is what a source multiplies for a mask reference: the mask (rows x
// cols, row-major) itself, or its unfolding when the reference asks for one, with
// the dimensions of the result (before any transpose). An unfolding that does not
// fit the mask is an error.
func UnfoldMask(mask []uint64, r MaskRef) ([]uint64, [2]int, error) {
	if r.Unfold.IsZero() {
		return mask, [2]int{r.Rows, r.Cols}, nil
	}
	if err := r.validUnfold(); err != nil {
		return nil, [2]int{}, err
	}
	u := r.Unfold.Unfold(sharing.Tensor{Shape: []int{r.Rows, r.Cols}, Data: mask})
	return u.Data, [2]int{u.Shape[0], u.Shape[1]}, nil
}

// unfolded is UnfoldMask on a tensor.
func (r MaskRef) unfolded(mask sharing.Tensor) sharing.Tensor {
	if r.Unfold.IsZero() {
		return mask
	}
	return r.Unfold.Unfold(mask)
}

// validUnfold checks a mask reference's unfolding against the mask it names.
func (r MaskRef) validUnfold() error {
	if r.Unfold.IsZero() {
		return nil
	}
	if err := r.Unfold.Validate(); err != nil {
		return err
	}
	if r.Unfold.InputSize() != r.Cols {
		return fmt.Errorf("protocol: unfolding %dx%dx%d images of a %dx%d mask", r.Unfold.Channels, r.Unfold.Height, r.Unfold.Width, r.Rows, r.Cols)
	}
	if int64(r.Rows)*int64(r.Unfold.Patches())*int64(r.Unfold.PatchSize()) > MaxMessageElements {
		return fmt.Errorf("protocol: unfolding of a %dx%d mask is too large", r.Rows, r.Cols)
	}
	return nil
}

// convWireSize is the size of a Conv2D on the dealer's wire: six 4-byte fields.
const convWireSize = 6 * 4

func putConv(buf []byte, c Conv2D) {
	for i, v := range []int{c.Channels, c.Height, c.Width, c.Kernel, c.Stride, c.Pad} {
		binary.LittleEndian.PutUint32(buf[4*i:], uint32(v))
	}
}

func getConv(buf []byte) (Conv2D, error) {
	var v [6]int
	for i := range v {
		w := binary.LittleEndian.Uint32(buf[4*i:])
		if w > MaxMessageElements {
			return Conv2D{}, fmt.Errorf("convolution field %d is out of range", w)
		}
		v[i] = int(w)
	}
	return Conv2D{Channels: v[0], Height: v[1], Width: v[2], Kernel: v[3], Stride: v[4], Pad: v[5]}, nil
}

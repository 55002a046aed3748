package nn

import (
	"fmt"

	"github.com/tessera-mpc/tessera/protocol"
)

// Layer types.
const (
	LayerDense      = "dense"      // x·W + b (the default)
	LayerConv       = "conv2d"     // unfold (im2col), then ·W + b
	LayerMaxPool    = "maxpool"    // maximum of each Size x Size window (secure comparisons)
	LayerAvgPool    = "avgpool"    // mean of each Size x Size window (linear)
	LayerFlatten    = "flatten"    // images to flat rows: a relabelling, no arithmetic
	LayerActivation = "activation" // the activation alone
)

// LayerTypes lists the layer types.
var LayerTypes = []string{LayerDense, LayerConv, LayerMaxPool, LayerAvgPool, LayerFlatten, LayerActivation}

// Layer is one stage of a network: an operation of its Type, then its Activation
// (identity if unset). A dense or conv2d layer has parameters: W (fan-in x
// outputs) and b (1 x outputs); a conv2d kernel is stored as a (Kernel*Kernel*
// channels in) x Maps matrix, rows in (kernel row, kernel column, channel) order,
// so every parameter is a W/B pair and checkpoints and model files keep one format.
type Layer struct {
	Type       string // "" is LayerDense
	Units      int    // dense: outputs
	Activation Activation
	// conv2d: output maps, square kernel, stride (0 is 1) and zero padding.
	Maps, Kernel, Stride, Padding int
	// maxpool, avgpool: window size and stride.
	Size int
}

// Shape is the shape of one example between layers: Channels x Height x Width,
// stored row-major as Height, Width, Channels (HWC). A flat vector of n features
// is n x 1 x 1, so flattening an image is a relabelling.
type Shape struct {
	Channels, Height, Width int
}

// Size is the number of features of the shape.
func (s Shape) Size() int { return s.Channels * s.Height * s.Width }

func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.Channels, s.Height, s.Width) }

func flat(n int) Shape { return Shape{Channels: n, Height: 1, Width: 1} }

// kind is the layer's type with the default applied.
func (l Layer) kind() string {
	if l.Type == "" {
		return LayerDense
	}
	return l.Type
}

// act is the layer's activation, identity if unset.
func (l Layer) act() Activation {
	if l.Activation.Name == "" {
		return activations["identity"]
	}
	return l.Activation
}

// hasParams reports whether the layer has a W/B pair.
func (l Layer) hasParams() bool { return l.kind() == LayerDense || l.kind() == LayerConv }

// stage is a layer resolved against its input shape: everything forward and
// backward need, computed once.
type stage struct {
	Layer
	index    int // in the spec
	in, out  Shape
	param    int             // index of its W/B pair, -1 if none
	conv     protocol.Conv2D // conv2d
	unfold   []int           // conv2d: UnfoldIndex
	windows  []int           // maxpool: input feature of every window entry
	poolInto []int           // avgpool: output feature every input feature is summed into
}

// name identifies a layer in errors: its position (from 1) and type.
func (st stage) name() string { return fmt.Sprintf("layer %d (%s)", st.index+1, st.kind()) }

// resolve chains the layers from the input shape; a layer that cannot take its
// input is an error naming it. A ReLU right before a max pool moves after it
// (poolBeforeReLU).
func resolve(input Shape, layers []Layer) ([]stage, error) {
	stages, err := resolveInOrder(input, layers)
	if err != nil {
		return nil, err
	}
	poolBeforeReLU(stages)
	return stages, nil
}

// poolBeforeReLU moves the ReLU of a stage followed by a max pool (without an
// activation of its own) onto the pool: maxpool(relu(x)) = relu(maxpool(x))
// since ReLU is non-decreasing, so the pool's secure ReLU reads one sign per
// window instead of one per entry (a quarter of them for 2x2 pooling: LeNet's
// first ReLU sends 140 -> 35 MB per party per step). The gradients agree as well,
// ties and zeros included: an entry gets its window's gradient iff it is a
// maximum of x and that maximum is >= 0, the same as a maximum of relu(x) with
// relu'(x) = 1 at x >= 0 (relu' is [x >= 0] in the twin and on shares alike).
// Falcon (Wagh et al., PETS 2021) makes the same swap.
func poolBeforeReLU(stages []stage) {
	for i := 0; i+1 < len(stages); i++ {
		if stages[i].act().Name == "relu" && stages[i+1].kind() == LayerMaxPool && stages[i+1].act().IsIdentity() {
			stages[i+1].Activation, stages[i].Activation = stages[i].Activation, Activation{}
		}
	}
}

// resolveInOrder chains the layers as written.
func resolveInOrder(input Shape, layers []Layer) ([]stage, error) {
	in := input
	params := 0
	out := make([]stage, len(layers))
	for i, l := range layers {
		st := stage{Layer: l, index: i, in: in, param: -1}
		if err := st.resolveShape(); err != nil {
			return nil, fmt.Errorf("nn: %s: %w", st.name(), err)
		}
		if l.hasParams() {
			st.param = params
			params++
		}
		out[i] = st
		in = st.out
	}
	return out, nil
}

// resolveShape sets the output shape and index maps of one stage.
func (st *stage) resolveShape() error {
	in := st.in
	switch st.kind() {
	case LayerDense:
		if st.Units < 1 {
			return fmt.Errorf("%d units", st.Units)
		}
		st.out = flat(st.Units)
	case LayerConv:
		if st.Maps < 1 {
			return fmt.Errorf("%d output maps", st.Maps)
		}
		stride := max(st.Stride, 1)
		st.conv = protocol.Conv2D{Channels: in.Channels, Height: in.Height, Width: in.Width, Kernel: st.Kernel, Stride: stride, Pad: st.Padding}
		if st.Kernel < 1 || st.Stride < 0 || st.Padding < 0 {
			return fmt.Errorf("kernel %d, stride %d, padding %d: need a positive kernel and stride", st.Kernel, st.Stride, st.Padding)
		}
		if st.Kernel > in.Height+2*st.Padding || st.Kernel > in.Width+2*st.Padding {
			return fmt.Errorf("kernel %dx%d is larger than its %s input (padding %d)", st.Kernel, st.Kernel, in, st.Padding)
		}
		if err := st.conv.Validate(); err != nil {
			return err
		}
		st.out = Shape{Channels: st.Maps, Height: st.conv.OutHeight(), Width: st.conv.OutWidth()}
		st.unfold = st.conv.UnfoldIndex()
	case LayerMaxPool, LayerAvgPool:
		k := st.Size
		if k < 1 {
			return fmt.Errorf("pooling window %d", k)
		}
		if in.Height%k != 0 || in.Width%k != 0 {
			return fmt.Errorf("pooling %dx%d does not divide its %s input", k, k, in)
		}
		st.out = Shape{Channels: in.Channels, Height: in.Height / k, Width: in.Width / k}
		st.windows, st.poolInto = poolMaps(in, k)
	case LayerFlatten:
		st.out = flat(in.Size())
	case LayerActivation:
		if st.Activation.Name == "" {
			return fmt.Errorf("no activation")
		}
		st.out = in
	default:
		return fmt.Errorf("unknown layer type %q (known: %v)", st.Type, LayerTypes)
	}
	return nil
}

// poolMaps returns, for k x k pooling of HWC images, the input feature of every
// window entry (windows in output HWC order, k*k entries each) and the output
// feature every input feature falls into.
func poolMaps(in Shape, k int) (windows, into []int) {
	oh, ow, c := in.Height/k, in.Width/k, in.Channels
	windows = make([]int, 0, in.Size())
	into = make([]int, in.Size())
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			for ch := 0; ch < c; ch++ {
				o := (oy*ow+ox)*c + ch
				for ky := 0; ky < k; ky++ {
					for kx := 0; kx < k; kx++ {
						i := ((oy*k+ky)*in.Width+ox*k+kx)*c + ch
						windows = append(windows, i)
						into[i] = o
					}
				}
			}
		}
	}
	return windows, into
}

// paramShape is the shape of a layer's W (rows x cols); its B is 1 x cols.
func (st stage) paramShape() (rows, cols int) {
	if st.kind() == LayerConv {
		return st.conv.PatchSize(), st.Maps
	}
	return st.in.Size(), st.Units
}

// gatherCols returns the rows x len(idx) matrix whose entry (r, j) is src's entry
// (r, idx[j]), or 0 where idx[j] < 0: unfolding and pooling windows. Exact in both
// arithmetics.
func gatherCols[E float64 | uint64](src []E, srcCols int, idx []int) []E {
	rows := len(src) / srcCols
	out := make([]E, rows*len(idx))
	for r := 0; r < rows; r++ {
		s, d := src[r*srcCols:(r+1)*srcCols], out[r*len(idx):(r+1)*len(idx)]
		for j, i := range idx {
			if i >= 0 {
				d[j] = s[i]
			}
		}
	}
	return out
}

// scatterCols is the adjoint of gatherCols: entry (r, j) of src is added to entry
// (r, idx[j]) of a rows x outCols matrix. Folding an unfolding, summing windows.
func scatterCols[E float64 | uint64](src []E, idx []int, outCols int) []E {
	rows := len(src) / len(idx)
	out := make([]E, rows*outCols)
	for r := 0; r < rows; r++ {
		s, d := src[r*len(idx):(r+1)*len(idx)], out[r*outCols:(r+1)*outCols]
		for j, i := range idx {
			if i >= 0 {
				d[i] += s[j]
			}
		}
	}
	return out
}

package serve

import (
	"testing"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/sharing"
)

// TestPublicModelTakesDenseReLU: a dense ReLU/identity model held in the
// clear takes the local path; another activation falls back to nn.Secure.
func TestPublicModelTakesDenseReLU(t *testing.T) {
	codec := sharing.Codec{FracBits: 16}
	for act, want := range map[string]bool{"relu": true, "identity": true, "square": false} {
		a, err := nn.ActivationByName(act)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := nn.ActivationByName("identity")
		spec := nn.Spec{Inputs: 5, Layers: []nn.Layer{{Units: 4, Activation: a}, {Units: 3, Activation: id}}, Loss: nn.LossCrossEntropy}
		m, err := newPublicModel(codec, spec, nn.InitParams(spec, sharing.Seed{1}))
		if err != nil {
			t.Fatal(err)
		}
		if (m != nil) != want {
			t.Errorf("%s: local path %v, want %v", act, m != nil, want)
		}
		if m != nil && (len(m.w) != 2 || m.relu[0] != (act == "relu") || m.relu[1]) {
			t.Errorf("%s: %d layers, relu %v", act, len(m.w), m.relu)
		}
	}
}

package run_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
	"github.com/tessera-mpc/tessera/protocol"
)

// A run of opening auto (the default) opens as ChooseOpening picks for its party count and
// network, says so in its results JSON, and learns what a run of the picked
// pattern learns.
func TestOpeningAutoPicksForTheNetwork(t *testing.T) {
	for _, c := range []struct {
		parties int
		link    network.Link
		opening protocol.Opening // auto, or left out
		want    protocol.Opening
	}{
		{3, network.LinkMemory, experiment.OpenAuto, protocol.OpenAllToAll},
		{8, network.LinkMemory, experiment.OpenAuto, protocol.OpenViaKing},
		{8, network.LinkMemory, "", protocol.OpenViaKing},
		{8, network.Link{Name: "1ms", RTT: 1e6}, experiment.OpenAuto, protocol.OpenAllToAll},
	} {
		t.Run(fmt.Sprintf("parties=%d/%s/%q", c.parties, c.link.Name, c.opening), func(t *testing.T) {
			cfg := loadConfig(t, "cancer-mlp-3p.yaml")
			cfg.Parties, cfg.Training.Epochs, cfg.Training.MaxSteps = c.parties, 1, 4
			fixed := *cfg
			fixed.Opening = c.want
			cfg.Opening = c.opening
			seed := uint64(3)
			opts := run.SimOptions{Network: c.link, Randomness: run.Randomness{InsecureSeed: &seed}}
			res, _, err := run.Simulate(context.Background(), cfg, opts)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(raw, []byte(fmt.Sprintf(`"opening_chosen":"%s"`, c.want))) {
				t.Fatalf("the results JSON does not say that auto chose %s: %s", c.want, raw[:min(len(raw), 400)])
			}
			ref, _, err := run.Simulate(context.Background(), &fixed, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(res.Final.Secure)
			want, _ := json.Marshal(ref.Final.Secure)
			if !bytes.Equal(got, want) {
				t.Fatalf("opening auto ended with %s, opening %s with %s", got, c.want, want)
			}
			if a, b := res.Cost.Parties[0].Rounds, ref.Cost.Parties[0].Rounds; a != b {
				t.Fatalf("opening auto took %d rounds, opening %s %d", a, c.want, b)
			}
		})
	}
}

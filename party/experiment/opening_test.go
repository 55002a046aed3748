package experiment_test

import (
	"bytes"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/protocol"
)

// opening: auto is a valid setting and the default; its pick is recorded, reaches
// the engine, and stays out of what the parties compare (each node picks for
// itself, the same).
func TestOpeningAuto(t *testing.T) {
	cfg, err := experiment.LoadConfig("../../configs/cancer-mlp-3p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Opening = experiment.OpenAuto
	if err := cfg.Validate(); err != nil {
		t.Fatalf("opening auto refused: %v", err)
	}
	before := cfg.Canonical()
	for _, c := range []struct {
		parties int
		shaped  bool
		want    protocol.Opening
	}{{3, true, protocol.OpenAllToAll}, {8, true, protocol.OpenAllToAll}, {64, true, protocol.OpenAllToAll},
		{3, false, protocol.OpenAllToAll}, {5, false, protocol.OpenAllToAll}, {8, false, protocol.OpenViaKing}} {
		if got := experiment.ChooseOpening(c.parties, c.shaped); got != c.want {
			t.Errorf("%d parties, shaped %v: auto picks %s, want %s", c.parties, c.shaped, got, c.want)
		}
	}
	if got := cfg.EngineOpening(); got != protocol.OpenAllToAll {
		t.Fatalf("before any pick the engine opens %s, want all-to-all", got)
	}
	cfg.Parties = 8
	cfg.ChooseOpeningFor(false)
	if cfg.OpeningChosen != protocol.OpenViaKing || cfg.EngineOpening() != protocol.OpenViaKing {
		t.Fatalf("8 parties in memory: chose %q, engine opens %q", cfg.OpeningChosen, cfg.EngineOpening())
	}
	cfg.Parties = 3
	if !bytes.Equal(cfg.Canonical(), before) {
		t.Fatal("the pick changes what the parties compare")
	}
	cfg.Opening, cfg.OpeningChosen, cfg.Parties = "", "", 8 // the default is auto
	cfg.ChooseOpeningFor(false)
	if cfg.EngineOpening() != protocol.OpenViaKing {
		t.Fatalf("8 parties in memory, no opening given: the engine opens %q, want king", cfg.EngineOpening())
	}
	cfg.Opening = protocol.OpenViaKing
	cfg.ChooseOpeningFor(true)
	if cfg.EngineOpening() != protocol.OpenViaKing {
		t.Fatal("a fixed opening is not kept")
	}
}

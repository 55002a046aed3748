package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/train"
	"github.com/tessera-mpc/tessera/protocol"
)

// Results is what a run writes: the config it ran, per-epoch metrics of the secure
// run beside the plaintext reference, final metrics, costs and versions.
type Results struct {
	Config    *experiment.Config `json:"config"`
	Mode      string             `json:"mode"`
	Transport string             `json:"transport"`
	Network   Network            `json:"network"`
	Layout    experiment.Layout  `json:"layout"`
	Epochs    []EpochResult      `json:"epochs"`
	Final     FinalResult        `json:"final"`
	Cost      Cost               `json:"cost"`
	Versions  map[string]string  `json:"versions"`
}

// Network is the simulated network a run's messages crossed, with the time a
// training step took on it and the least time its rounds and bytes allow there.
type Network struct {
	// Setting is memory, lan, wan or "RTT,BANDWIDTH"; RTTSeconds and
	// BitsPerSecond its round-trip time and per-direction bandwidth (0: none).
	Setting       string  `json:"setting"`
	RTTSeconds    float64 `json:"rtt_s"`
	BitsPerSecond float64 `json:"bits_per_second,omitempty"`
	// StepSeconds is the measured time per training step (the run's wall time over
	// its steps, evaluation and input sharing included); LowerBoundStepSeconds is
	// rounds * RTT/2 + the busiest link's bytes / bandwidth, per step, for the
	// party where that is largest.
	StepSeconds           float64 `json:"step_s"`
	LowerBoundStepSeconds float64 `json:"lower_bound_step_s"`
	// BoundRoundsPerStep and BoundBytesPerStep are that party's rounds and the
	// bytes on its busiest link, per step (with a dealer node, its requests count).
	BoundRoundsPerStep float64 `json:"bound_rounds_per_step"`
	BoundBytesPerStep  float64 `json:"bound_busiest_link_bytes_per_step"`
}

// EpochResult pairs one epoch's secure and plaintext metrics.
type EpochResult struct {
	Epoch     int            `json:"epoch"`
	Steps     int            `json:"steps"`
	Secure    train.Metrics  `json:"secure"`
	Plaintext *train.Metrics `json:"plaintext,omitempty"`
	SecureSec float64        `json:"secure_elapsed_s"`
}

// FinalResult holds the last epoch's metrics.
type FinalResult struct {
	Secure    train.Metrics  `json:"secure"`
	Plaintext *train.Metrics `json:"plaintext,omitempty"`
	// Local[i] is party i's model trained on its own rows alone (plaintext, same
	// network and schedule), evaluated on the same test rows: the value of joining
	// is the difference from Secure. Simulations of horizontal partitions only.
	Local []train.Metrics `json:"local,omitempty"`
}

// Cost is the price of the secure run.
type Cost struct {
	WallSeconds      float64     `json:"wall_s"`
	Parties          []PartyCost `json:"parties"`
	DealerBytesSent  int64       `json:"dealer_bytes_sent,omitempty"`
	PlaintextSeconds float64     `json:"plaintext_wall_s,omitempty"`
}

// PartyCost is one party's traffic and time per operation kind.
type PartyCost struct {
	Party         int                        `json:"party"`
	BytesSent     int64                      `json:"bytes_sent"`
	BytesReceived int64                      `json:"bytes_received"`
	Rounds        int64                      `json:"rounds"`
	Peers         []protocol.PeerStats       `json:"peers"`
	Operations    map[string]protocol.OpCost `json:"operations"`
	Layers        []protocol.ScopeCost       `json:"layers,omitempty"`
	// PreprocessingSeconds is the time this party waited for preprocessing
	// material (included in the operations' times); PreprocessingBytesSent is what
	// dealer-free preprocessing sent, beside the online BytesSent; SetupSeconds is
	// the dealer-free key and OT setup.
	PreprocessingSeconds   float64 `json:"preprocessing_s"`
	PreprocessingBytesSent int64   `json:"preprocessing_bytes_sent,omitempty"`
	SetupSeconds           float64 `json:"setup_s,omitempty"`
	// OfflineSeconds is the offline phase of preprocessing_mode: offline-first.
	OfflineSeconds float64 `json:"offline_s,omitempty"`
}

// Versions reports the build: Go, this module and its dependencies.
func Versions() map[string]string {
	v := map[string]string{"go": runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		v["tessera"] = bi.Main.Version
		for _, d := range bi.Deps {
			v[d.Path] = d.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v["tessera_revision"] = s.Value
			}
		}
	}
	return v
}

// WriteJSON writes v to path atomically: a temporary file in the same directory,
// renamed into place, so a failed run never leaves half a file.
func WriteJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tessera-*.json")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

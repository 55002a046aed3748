package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tessera-mpc/tessera/party/train"
)

// EpochTable prints one line per epoch, secure beside plaintext, and optionally a
// progress bar that the next line overwrites.
type EpochTable struct {
	mu       sync.Mutex
	w        io.Writer
	classify bool
	plain    bool // print the plaintext reference beside the secure run
	barShown bool
	last     time.Time
}

// NewEpochTable prints the header; plain adds the plaintext reference columns.
func NewEpochTable(w io.Writer, classify, plain bool) *EpochTable {
	t := &EpochTable{w: w, classify: classify, plain: plain}
	h := "epoch  secure loss"
	if plain {
		h += "   plain loss"
	}
	switch {
	case classify && plain:
		h += "   secure acc    plain acc"
	case classify:
		h += "   secure acc"
	case plain:
		h += "  secure test MSE  plain test MSE"
	default:
		h += "  secure test MSE"
	}
	fmt.Fprintln(w, h)
	return t
}

func fmtOpt(v *float64, format string, scale float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v*scale)
}

// Row prints an epoch's secure metrics s beside the plaintext ones p.
func (t *EpochTable) Row(s train.EpochReport, p train.EpochReport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clearBar()
	line := fmt.Sprintf("%5d  %11s", s.Epoch, fmtOpt(s.Metrics.TrainLoss, "%.5g", 1))
	if t.plain {
		line += fmt.Sprintf("  %11s", fmtOpt(p.Metrics.TrainLoss, "%.5g", 1))
	}
	if t.classify {
		line += fmt.Sprintf("  %11s", fmtOpt(s.Metrics.TestAccuracy, "%.2f%%", 100))
		if t.plain {
			line += fmt.Sprintf("  %11s", fmtOpt(p.Metrics.TestAccuracy, "%.2f%%", 100))
		}
	} else {
		line += fmt.Sprintf("  %15s", fmtOpt(s.Metrics.TestMSE, "%.6g", 1))
		if t.plain {
			line += fmt.Sprintf("  %14s", fmtOpt(p.Metrics.TestMSE, "%.6g", 1))
		}
	}
	fmt.Fprintf(t.w, "%s  (%.1fs)\n", line, s.Elapsed.Seconds())
}

// Bar draws "epoch 2/5 [=====>    ] 120/469 steps, 8.1 steps/s, ETA 43s".
func (t *EpochTable) Bar(r train.StepReport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.last) < 100*time.Millisecond && r.Step != r.Steps {
		return
	}
	t.last = time.Now()
	const width = 30
	done := width * r.Step / max(r.Steps, 1)
	totalSteps := float64((r.Epoch-1)*r.Steps + r.Step)
	rate := totalSteps / r.Elapsed.Seconds()
	eta := time.Duration(float64(r.Epochs*r.Steps-int(totalSteps))/rate) * time.Second
	fmt.Fprintf(t.w, "\repoch %d/%d [%s>%s] %d/%d steps, %.1f steps/s, ETA %s ",
		r.Epoch, r.Epochs, strings.Repeat("=", done), strings.Repeat(" ", width-done), r.Step, r.Steps, rate, eta.Round(time.Second))
	t.barShown = true
}

func (t *EpochTable) clearBar() {
	if t.barShown {
		fmt.Fprintf(t.w, "\r%s\r", strings.Repeat(" ", 100))
		t.barShown = false
	}
}

// PrintLocal prints each party's local-only test metric beside the joint ones:
// the comparison a party asks for before it joins.
func PrintLocal(w io.Writer, r *Results) {
	if len(r.Final.Local) == 0 {
		return
	}
	metric := func(m train.Metrics) string {
		if m.TestAccuracy != nil {
			return "test accuracy " + fmtOpt(m.TestAccuracy, "%.2f%%", 100)
		}
		return "test MSE " + fmtOpt(m.TestMSE, "%.6g", 1)
	}
	fmt.Fprintf(w, "joint model: secure %s", metric(r.Final.Secure))
	if r.Final.Plaintext != nil {
		fmt.Fprintf(w, ", plaintext %s", metric(*r.Final.Plaintext))
	}
	fmt.Fprintln(w)
	for i, m := range r.Final.Local {
		fmt.Fprintf(w, "party %d alone (its own rows only, plaintext): %s\n", i, metric(m))
	}
}

// PrintCosts prints the cost summary and party 0's per-layer table.
func PrintCosts(w io.Writer, r *Results) {
	fmt.Fprintf(w, "secure run: %.2fs wall", r.Cost.WallSeconds)
	if r.Cost.PlaintextSeconds > 0 {
		fmt.Fprintf(w, " (plaintext reference %.3fs)", r.Cost.PlaintextSeconds)
	}
	if r.Cost.DealerBytesSent > 0 {
		fmt.Fprintf(w, "; dealer sent %s", HumanBytes(r.Cost.DealerBytesSent))
	}
	fmt.Fprintln(w)
	if nw := r.Network; nw.RTTSeconds > 0 || nw.BitsPerSecond > 0 {
		fmt.Fprintf(w, "network %s (RTT %g ms, %g Mbit/s): %.4fs per step measured, lower bound %.4fs from its rounds and bytes\n",
			nw.Setting, nw.RTTSeconds*1e3, nw.BitsPerSecond/1e6, nw.StepSeconds, nw.LowerBoundStepSeconds)
	}
	for _, p := range r.Cost.Parties {
		fmt.Fprintf(w, "party %d: sent %s, received %s, %d rounds; %.2fs waiting for preprocessing", p.Party, HumanBytes(p.BytesSent), HumanBytes(p.BytesReceived), p.Rounds, p.PreprocessingSeconds)
		if p.PreprocessingBytesSent > 0 || p.SetupSeconds > 0 {
			fmt.Fprintf(w, " (dealer-free: setup %.2fs, ", p.SetupSeconds)
			if p.OfflineSeconds > 0 {
				fmt.Fprintf(w, "offline phase %.2fs, ", p.OfflineSeconds)
			}
			fmt.Fprintf(w, "sent %s)", HumanBytes(p.PreprocessingBytesSent))
		}
		fmt.Fprintln(w)
	}
	if len(r.Cost.Parties) == 0 || len(r.Cost.Parties[0].Layers) == 0 {
		return
	}
	layers := append(r.Cost.Parties[0].Layers[:0:0], r.Cost.Parties[0].Layers...)
	sort.SliceStable(layers, func(i, j int) bool { return layerOrder(layers[i].Name) < layerOrder(layers[j].Name) })
	fmt.Fprintf(w, "per-layer cost of party %d (all steps):\n", r.Cost.Parties[0].Party)
	fmt.Fprintf(w, "  %-18s %10s %12s %8s\n", "scope", "time", "sent", "rounds")
	for _, l := range layers {
		fmt.Fprintf(w, "  %-18s %9.2fs %12s %8d\n", l.Name, l.Time.Seconds(), HumanBytes(l.BytesSent), l.Rounds)
	}
}

// layerOrder sorts forward passes first, then loss, backward passes, update.
func layerOrder(name string) string {
	switch {
	case strings.HasSuffix(name, "forward"):
		return "0" + name
	case name == "loss":
		return "1"
	case strings.HasSuffix(name, "backward"):
		return "2" + name
	}
	return "3" + name
}

func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

package run_test

import (
	"context"
	"testing"

	"github.com/tessera-mpc/tessera/party/run"
)

// BenchmarkTrainingStep times one secure training step of the shipped configs over
// the in-memory transport and over libp2p on loopback (3 parties and the dealer on
// this machine), with the plaintext step measured in the same run.
func BenchmarkTrainingStep(b *testing.B) {
	for _, name := range []string{"diabetes-linreg-3p.yaml", "cancer-mlp-3p.yaml"} {
		for _, tr := range []run.TransportKind{run.TransportMemory, run.TransportLibp2p} {
			b.Run(name+"/"+string(tr), func(b *testing.B) {
				cfg := loadConfig(b, name)
				res, err := run.BenchSteps(context.Background(), cfg, tr, b.N)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(res.SecondsPerStep*1e9, "ns/step")
				b.ReportMetric(res.BytesSentPerStep, "sent-B/party/step")
				b.ReportMetric(res.RoundsPerStep, "rounds/step")
				b.ReportMetric(res.Ratio, "x-plaintext")
			})
		}
	}
}

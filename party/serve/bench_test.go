package serve_test

import (
	"context"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/serve"
)

// mnistSpec is the MNIST model's shape, 784-128-128-10 with ReLU.
func mnistSpec(t testing.TB) nn.Spec {
	t.Helper()
	s := testSpec(t)
	relu := s.Layers[0].Activation
	out := nn.Layer{Units: 10, Activation: s.Layers[1].Activation}
	return nn.Spec{Inputs: 784, Layers: []nn.Layer{{Units: 128, Activation: relu}, {Units: 128, Activation: relu}, out}, Loss: s.Loss}
}

// benchmarkQuery measures queries of rows MNIST-sized rows among three
// parties in one process (in-memory networks, HTTPS on loopback): ns per
// query, predictions per second, and bytes each party sends per query over
// the parties' channels (client traffic excluded). The parties hold the
// model in the clear, as `node serve` with a model.json.
func benchmarkQuery(b *testing.B, rows int) { benchmarkQueries(b, rows, 1, true) }

// benchmarkQueries is benchmarkQuery with inFlight queries at a time (per
// iteration), as `node query --parallel` sends them; public: the parties
// hold the model in the clear, else only as shares (nn.Secure's path).
func benchmarkQueries(b *testing.B, rows, inFlight int, public bool) {
	spec := mnistSpec(b)
	var mod func(*serve.Config)
	if public {
		mod = publicModel(spec)
	}
	c := startClusterSpec(b, 3, spec, nil, mod, false)
	cl := c.dial(b, 0, "")
	x := testRows(rows, 784, 1)
	for i := range x {
		for j := range x[i] {
			x[i][j] = (x[i][j] + 1) / 2 // pixels in [0, 1]
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := cl.Predict(ctx, x); err != nil { // warm-up, not counted
		b.Fatal(err)
	}
	before := c.sentBytes()
	b.ResetTimer()
	for range b.N {
		errs := make(chan error, inFlight)
		for range inFlight {
			go func() { _, err := cl.Predict(ctx, x); errs <- err }()
		}
		for range inFlight {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	after := c.sentBytes()
	for p := range after {
		b.ReportMetric(float64(after[p]-before[p])/float64(b.N*inFlight), "B/query/party"+string(rune('0'+p)))
	}
	b.ReportMetric(float64(rows*b.N*inFlight)/b.Elapsed().Seconds(), "predictions/s")
}

// sentBytes is what each party has sent over all its channels.
func (c *cluster) sentBytes() []int64 {
	out := make([]int64, len(c.services))
	for _, net := range c.nets {
		for p, m := range net {
			out[p] += m.Stats().BytesSent
		}
	}
	return out
}

func BenchmarkQueryOneRow(b *testing.B)   { benchmarkQuery(b, 1) }
func BenchmarkQuery1024Rows(b *testing.B) { benchmarkQuery(b, 1024) }

// BenchmarkQuery1024RowsThreeInFlight: three 1,024-row queries at a time.
func BenchmarkQuery1024RowsThreeInFlight(b *testing.B) { benchmarkQueries(b, 1024, 3, true) }

// BenchmarkQuery1024RowsSharedModel: the model as shares (every product a
// Beaver product), as `node serve` with share files.
func BenchmarkQuery1024RowsSharedModel(b *testing.B) { benchmarkQueries(b, 1024, 1, false) }

package serve_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/nn"
	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/serve"
	"github.com/tessera-mpc/tessera/party/serve/client"
	"github.com/tessera-mpc/tessera/protocol"
	"github.com/tessera-mpc/tessera/protocol/he"
	"github.com/tessera-mpc/tessera/sharing"
)

// testSpec is a small classifier: 30 features, ReLU hidden layer, 4 outputs.
func testSpec(t testing.TB) nn.Spec {
	t.Helper()
	relu, err := nn.ActivationByName("relu")
	if err != nil {
		t.Fatal(err)
	}
	id, err := nn.ActivationByName("identity")
	if err != nil {
		t.Fatal(err)
	}
	return nn.Spec{Inputs: 30, Layers: []nn.Layer{{Units: 16, Activation: relu}, {Units: 4, Activation: id}}, Loss: nn.LossCrossEntropy}
}

// cluster is n serving parties in one process over in-memory networks, each
// with an HTTPS server using a self-signed certificate.
type cluster struct {
	services []*serve.Service
	servers  []*httptest.Server
	fprint   []string
	nets     [][]*network.Memory // [network][party]: online, keys, control, forward, answers
	params   nn.Params
	spec     nn.Spec
	done     []chan error
	ctx      context.Context
	cancel   context.CancelFunc
	held     bool // the services are not run until run is called
	maxRows  int
}

func startCluster(t testing.TB, n int, tokens *serve.Tokens, mod func(*serve.Config)) *cluster {
	return startClusterHeld(t, n, tokens, mod, false)
}

func startClusterHeld(t testing.TB, n int, tokens *serve.Tokens, mod func(*serve.Config), held bool) *cluster {
	return startClusterSpec(t, n, testSpec(t), tokens, mod, held)
}

func startClusterSpec(t testing.TB, n int, spec nn.Spec, tokens *serve.Tokens, mod func(*serve.Config), held bool) *cluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &cluster{spec: spec, cancel: cancel, held: held, maxRows: 100}
	if spec.Inputs == 784 {
		c.maxRows = 1024 // the benchmarks' MNIST-sized queries
	}
	c.params = nn.InitParams(c.spec, sharing.Seed{7})
	for range 5 {
		net, err := network.NewMemoryNetwork(n)
		if err != nil {
			t.Fatal(err)
		}
		c.nets = append(c.nets, net)
	}
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfgs := make([]serve.Config, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { cfgs[i], errs[i] = partyConfig(ctx, c, dealer, i, n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if mod != nil {
			mod(&cfgs[i])
		}
		s, err := serve.New(cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		c.services = append(c.services, s)
		c.startHTTP(t, s, tokens)
	}
	c.ctx = ctx
	if !c.held {
		c.run()
	}
	t.Cleanup(c.stop)
	return c
}

// run starts every party's service loop.
func (c *cluster) run() {
	for _, s := range c.services {
		done := make(chan error, 1)
		go func() { done <- s.Run(c.ctx) }()
		c.done = append(c.done, done)
	}
}

func partyConfig(ctx context.Context, c *cluster, dealer *protocol.Dealer, i, n int) (serve.Config, error) {
	keys, err := he.Setup(ctx, c.nets[1][i], he.WithWorkers(1))
	if err != nil {
		return serve.Config{}, err
	}
	qp, err := he.NewQueryParty(keys, nil)
	if err != nil {
		return serve.Config{}, err
	}
	src, err := dealer.SourceAt(i, 0)
	if err != nil {
		return serve.Config{}, err
	}
	e, err := protocol.NewEngine(c.nets[0][i], src, protocol.Config{Codec: sharing.Codec{FracBits: 16}, Parties: n, Rand: rand.Reader})
	if err != nil {
		return serve.Config{}, err
	}
	net, err := nn.NewSecure(e, c.spec, c.params)
	if err != nil {
		return serve.Config{}, err
	}
	return serve.Config{Self: i, Parties: n, Engine: e, Keys: qp, Control: c.nets[2][i], Forward: c.nets[3][i], Answers: c.nets[4][i], Net: net, ModelName: "test", MaxRows: c.maxRows}, nil
}

func (c *cluster) startHTTP(t testing.TB, s *serve.Service, tokens *serve.Tokens) {
	t.Helper()
	cert, fp, err := serve.Certificate("", "", t.TempDir(), []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s.Handler(tokens))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	c.servers = append(c.servers, srv)
	c.fprint = append(c.fprint, fp)
}

func (c *cluster) stop() {
	c.cancel()
	for _, d := range c.done {
		<-d
	}
	for _, s := range c.servers {
		s.Close()
	}
}

func (c *cluster) dial(t testing.TB, party int, token string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := client.Dial(ctx, c.servers[party].URL, client.Options{Fingerprint: c.fprint[party], Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func testRows(n, f int, seed byte) [][]float64 {
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, f)
		for j := range rows[i] {
			rows[i][j] = math.Sin(float64(int(seed)*1000 + i*f + j)) // in [-1, 1]
		}
	}
	return rows
}

// checkPredictions compares decrypted outputs with the plaintext model's.
func (c *cluster) checkPredictions(t testing.TB, rows, got [][]float64) {
	t.Helper()
	x := experiment.DenseOf(rows, c.spec.Inputs)
	want := nn.Predict(c.spec, c.params, x)
	if len(got) != len(rows) {
		t.Fatalf("%d predictions for %d rows", len(got), len(rows))
	}
	for i := range got {
		for j, v := range got[i] {
			if d := math.Abs(v - want.At(i, j)); d > 0.01 {
				t.Fatalf("row %d output %d: %.5f, the plaintext model says %.5f", i, j, v, want.At(i, j))
			}
		}
	}
}

func predict(t testing.TB, cl *client.Client, rows [][]float64) ([][]float64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return cl.Predict(ctx, rows)
}

// TestServeEndToEnd: three parties serve a model; clients posting to the
// leader and to another party (forwarded) get the plaintext model's outputs,
// more rows than one ciphertext holds and more than one query included.
func TestServeEndToEnd(t *testing.T) {
	c := startCluster(t, 3, nil, nil)
	for _, party := range []int{0, 2} {
		cl := c.dial(t, party, "")
		rows := testRows(1200, 30, byte(party)) // 546 rows a ciphertext, 100 a query
		got, err := predict(t, cl, rows)
		if err != nil {
			t.Fatal(err)
		}
		c.checkPredictions(t, rows, got)
	}
	if _, err := predict(t, c.dial(t, 1, ""), testRows(1, 30, 9)); err != nil {
		t.Fatal(err)
	}
}

// TestServeProbabilities: a client asking for probabilities gets the
// parties' secure softmax of the model's outputs.
func TestServeProbabilities(t *testing.T) {
	c := startCluster(t, 3, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.Dial(ctx, c.servers[1].URL, client.Options{Fingerprint: c.fprint[1], Output: serve.OutputProbabilities})
	if err != nil {
		t.Fatal(err)
	}
	rows := testRows(9, 30, 6)
	got, err := cl.Predict(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	x := experiment.DenseOf(rows, c.spec.Inputs)
	want := nn.Softmax(nn.Predict(c.spec, c.params, x))
	for i := range got {
		for j, v := range got[i] {
			if d := math.Abs(v - want.At(i, j)); d > 0.01 {
				t.Fatalf("row %d class %d: probability %.4f, the plaintext model says %.4f", i, j, v, want.At(i, j))
			}
		}
	}
	bad, err := client.Dial(ctx, c.servers[0].URL, client.Options{Fingerprint: c.fprint[0], Output: "argmin"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Predict(ctx, rows); statusOf(err) != 400 || !strings.Contains(err.Error(), "argmin") {
		t.Fatalf("an unknown output: %v", err)
	}
}

// TestServeArgmax: a client asking for the argmax gets one value a row, the
// plaintext model's class (where the model's top two logits are not within
// the fixed-point error of each other).
func TestServeArgmax(t *testing.T) {
	c := startCluster(t, 3, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.Dial(ctx, c.servers[2].URL, client.Options{Fingerprint: c.fprint[2], Output: serve.OutputArgmax})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cl.Info().OutputKinds, serve.OutputArgmax) {
		t.Fatalf("the service offers %v", cl.Info().OutputKinds)
	}
	rows := testRows(40, 30, 4)
	got, err := cl.Predict(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	x := experiment.DenseOf(rows, c.spec.Inputs)
	want := nn.Predict(c.spec, c.params, x)
	for i := range got {
		logits := want.RawRowView(i)
		if len(got[i]) != 1 {
			t.Fatalf("row %d: %d values, want the class alone", i, len(got[i]))
		}
		best := slices.Index(logits, slices.Max(logits))
		if got[i][0] != float64(best) && !nearTie(logits, best, int(got[i][0])) {
			t.Fatalf("row %d: class %v, the plaintext model says %d (logits %v)", i, got[i][0], best, logits)
		}
	}
}

// nearTie: class k is as large as the best within the fixed-point error.
func nearTie(logits []float64, best, k int) bool {
	return k >= 0 && k < len(logits) && logits[best]-logits[k] < 0.01
}

// publicModel makes the parties hold the cluster's model in the clear
// (Config.Public), as `node serve` does with a model.json.
func publicModel(spec nn.Spec) func(*serve.Config) {
	p := nn.InitParams(spec, sharing.Seed{7}) // the cluster's params
	return func(cfg *serve.Config) { cfg.Public = &p }
}

// TestServePublicModel: parties holding the model in the clear compute its
// products locally and answer logits, probabilities and the argmax as the
// shared model does, to two and three parties.
func TestServePublicModel(t *testing.T) {
	for _, n := range []int{2, 3} {
		c := startCluster(t, n, nil, publicModel(testSpec(t)))
		rows := testRows(700, 30, 5) // two ciphertexts, seven queries
		got, err := predict(t, c.dial(t, n-1, ""), rows)
		if err != nil {
			t.Fatal(err)
		}
		c.checkPredictions(t, rows, got)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cl, err := client.Dial(ctx, c.servers[0].URL, client.Options{Fingerprint: c.fprint[0], Output: serve.OutputArgmax})
		if err != nil {
			t.Fatal(err)
		}
		classes, err := cl.Predict(ctx, rows[:50])
		if err != nil {
			t.Fatal(err)
		}
		for i := range classes {
			if best := slices.Index(got[i], slices.Max(got[i])); classes[i][0] != float64(best) && !nearTie(got[i], best, int(classes[i][0])) {
				t.Fatalf("%d parties, row %d: class %v, logits %v", n, i, classes[i][0], got[i])
			}
		}
	}
}

// TestServeTwoParties: the smallest deployment.
func TestServeTwoParties(t *testing.T) {
	c := startCluster(t, 2, nil, nil)
	rows := testRows(7, 30, 3)
	got, err := predict(t, c.dial(t, 1, ""), rows)
	if err != nil {
		t.Fatal(err)
	}
	c.checkPredictions(t, rows, got)
}

func statusOf(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

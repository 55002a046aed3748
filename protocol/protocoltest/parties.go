package protocoltest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tessera-mpc/tessera/network"
	"github.com/tessera-mpc/tessera/protocol"
)

// Timeout bounds every session these helpers run, so a protocol that deadlocks
// fails its test instead of hanging the suite.
const Timeout = 5 * time.Minute

// Parties runs fn for parties 0..n-1 concurrently, each with its end of a fresh
// in-memory network, and returns every party's result and error by index. A party
// that fails closes its transport, so that peers waiting for it fail instead of
// hanging.
func Parties[T any](t testing.TB, n int, fn func(ctx context.Context, i int, tr protocol.Transport) (T, error)) ([]T, []error) {
	t.Helper()
	ts, err := network.NewMemoryNetwork(n)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	out := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if out[i], errs[i] = fn(ctx, i, ts[i]); errs[i] != nil {
				ts[i].Close()
			}
		})
	}
	wg.Wait()
	return out, errs
}

// MustParties is Parties that fails the test with the first party's error.
func MustParties[T any](t testing.TB, n int, fn func(ctx context.Context, i int, tr protocol.Transport) (T, error)) []T {
	t.Helper()
	out, errs := Parties(t, n, fn)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("party %d: %v", i, err)
		}
	}
	return out
}

// Engines runs fn on the engines of n parties over an in-memory network with an
// in-process dealer, and fails the test if any party fails.
func Engines[T any](t testing.TB, n int, cfg protocol.Config, fn func(ctx context.Context, e *protocol.Engine) (T, error)) []T {
	t.Helper()
	return EnginesFrom(t, cfg, DealerSources(t, n), fn)
}

// EnginesFrom is Engines on the given sources, one per party.
func EnginesFrom[T any](t testing.TB, cfg protocol.Config, srcs []protocol.Source, fn func(ctx context.Context, e *protocol.Engine) (T, error)) []T {
	t.Helper()
	return MustParties(t, len(srcs), func(ctx context.Context, i int, tr protocol.Transport) (T, error) {
		e, err := protocol.NewEngine(tr, srcs[i], cfg)
		if err != nil {
			var zero T
			return zero, err
		}
		return fn(ctx, e)
	})
}

// DealerSources returns the sources of n parties from one in-process dealer.
func DealerSources(t testing.TB, n int) []protocol.Source {
	t.Helper()
	dealer, err := protocol.NewDealer(n, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srcs := make([]protocol.Source, n)
	for i := range srcs {
		if srcs[i], err = dealer.Source(i); err != nil {
			t.Fatal(err)
		}
	}
	return srcs
}

// Concurrently runs fn for parties 0..n-1 concurrently, cancels the others'
// context on the first failure, and returns the results by index and the failure
// that caused the others (not a cancellation it caused), naming the party.
func Concurrently[T any](ctx context.Context, n int, fn func(ctx context.Context, i int) (T, error)) ([]T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]T, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if out[i], errs[i] = fn(ctx, i); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, causes := range []bool{true, false} {
		for i, err := range errs {
			if err != nil && (!causes || !errors.Is(err, context.Canceled)) {
				return out, fmt.Errorf("party %d: %w", i, err)
			}
		}
	}
	return out, nil
}

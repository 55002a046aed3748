package run_test

import (
	"context"
	"math"
	"testing"

	"github.com/tessera-mpc/tessera/party/experiment"
	"github.com/tessera-mpc/tessera/party/run"
)

// TestHospitalsFiles checks the shipped three-hospital files against the numpy
// generator that made them (configs/hospitals-diabetes/make_data.py): row counts,
// and each file's first row (age and disease progression).
func TestHospitalsFiles(t *testing.T) {
	cfg := loadConfig(t, "hospitals-diabetes-3p.yaml")
	split, err := experiment.LoadSplit(cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := [][2]float64{{0.04534098333546186, 219}, {0.009015598825267658, 116}, {0.012648137276287077, 77}}
	for i, p := range split.Parts {
		if p.Rows() != 130 || p.Features() != 10 {
			t.Errorf("hospital %d: %d rows of %d features, want 130 of 10", i, p.Rows(), p.Features())
		}
		if got := [2]float64{p.X[0][0], p.Y[0]}; got != first[i] {
			t.Errorf("hospital %d: first row (age, progression) %v, want %v", i, got, first[i])
		}
	}
	if split.Test.Rows() != 50 || split.Test.X[0][0] != -0.03820740103798481 || split.Test.Y[0] != 220 {
		t.Errorf("test rows: %d, first (%v, %v)", split.Test.Rows(), split.Test.X[0][0], split.Test.Y[0])
	}
}

// TestHospitalsJointMatchesTwin: the joint secure model equals its plaintext twin
// within 1%, and every hospital's local-only model is reported beside it.
func TestHospitalsJointMatchesTwin(t *testing.T) {
	cfg := loadConfig(t, "hospitals-diabetes-3p.yaml")
	seed := uint64(7)
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{Randomness: run.Randomness{InsecureSeed: &seed}})
	if err != nil {
		t.Fatal(err)
	}
	sec, pl := *res.Final.Secure.TestMSE, *res.Final.Plaintext.TestMSE
	if rel := math.Abs(sec-pl) / pl; rel > 0.01 {
		t.Fatalf("test MSE secure %.2f, plaintext %.2f: %.3f%% apart", sec, pl, 100*rel)
	}
	if len(res.Final.Local) != 3 {
		t.Fatalf("%d local-only results, want 3", len(res.Final.Local))
	}
	for i, m := range res.Final.Local {
		if m.TestMSE == nil || *m.TestMSE < 1000 || *m.TestMSE > 10000 {
			t.Fatalf("hospital %d alone: test MSE %v", i, m.TestMSE)
		}
		t.Logf("hospital %d alone: test MSE %.2f", i, *m.TestMSE)
	}
	t.Logf("joint: secure %.2f, plaintext %.2f", sec, pl)
}

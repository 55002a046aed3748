package run_test

import (
	"context"
	"math"
	"testing"

	"github.com/tessera-mpc/tessera/party/run"
)

// TestCryptoNetsShortMatchesPlaintext trains the CryptoNets CNN (convolution,
// square activations) on shares for 20 steps of 64 MNIST images and checks it
// against its plaintext twin: the loss after every epoch within 0.01, the test
// accuracy within four images in 300 of it, and the loss going down. After 20
// steps the model is about 30% accurate, so some test rows' two largest logits
// are closer than the fixed-point error, and fresh randomness each run flips a
// few of them (two images were seen; one was the bound before).
func TestCryptoNetsShortMatchesPlaintext(t *testing.T) {
	cfg := loadConfig(t, "mnist-cryptonets-3p-short.yaml")
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Epochs {
		sec, pl := *e.Secure.TrainLoss, *e.Plaintext.TrainLoss
		if math.IsNaN(sec) || math.Abs(sec-pl) > 0.01 {
			t.Fatalf("epoch %d: secure loss %v, plaintext %v", e.Epoch, sec, pl)
		}
	}
	if first, last := *res.Epochs[0].Secure.TrainLoss, *res.Final.Secure.TrainLoss; last >= first {
		t.Fatalf("secure loss went from %v to %v", first, last)
	}
	sec, pl := *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy
	if math.Abs(sec-pl) > 4.5/300 {
		t.Fatalf("secure test accuracy %.4f, plaintext %.4f", sec, pl)
	}
	t.Logf("secure loss %.4f accuracy %.4f; plaintext loss %.4f accuracy %.4f", *res.Final.Secure.TrainLoss, sec, *res.Final.Plaintext.TrainLoss, pl)
}

// TestLeNetShortMatchesPlaintext trains LeNet-5 (two convolutions, ReLUs moved
// after the max pools, winner bits on 32-bit comparisons) on shares for 4 steps
// of 16 MNIST images: the loss within 0.01 of the plaintext twin's, the test
// accuracy within three images in 100.
func TestLeNetShortMatchesPlaintext(t *testing.T) {
	cfg := loadConfig(t, "mnist-lenet-3p-short.yaml")
	res, _, err := run.Simulate(context.Background(), cfg, run.SimOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec, pl := *res.Final.Secure.TrainLoss, *res.Final.Plaintext.TrainLoss
	if math.IsNaN(sec) || math.Abs(sec-pl) > 0.01 {
		t.Fatalf("secure loss %v, plaintext %v", sec, pl)
	}
	if acc, plAcc := *res.Final.Secure.TestAccuracy, *res.Final.Plaintext.TestAccuracy; math.Abs(acc-plAcc) > 3.5/100 {
		t.Fatalf("secure test accuracy %.4f, plaintext %.4f", acc, plAcc)
	}
	t.Logf("secure loss %.4f accuracy %.4f; plaintext loss %.4f accuracy %.4f", sec, *res.Final.Secure.TestAccuracy, pl, *res.Final.Plaintext.TestAccuracy)
}

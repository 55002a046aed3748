package network

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tessera-mpc/tessera/protocol"
)

// TestLibp2pMessagesLargerThanAFrame: a message larger than MaxFrameBytes goes
// as several frames and arrives whole, in order with the others.
func TestLibp2pMessagesLargerThanAFrame(t *testing.T) {
	const frame = 64 << 10
	dep := newTestDeployment(t, 2, func(i int, c *Libp2pConfig) { c.MaxFrameBytes = frame })
	ctx := context.Background()
	sizes := []int{0, frame, frame + 1, 3, 5*frame + 7, 2 * frame, 1}
	errc := make(chan error, 1)
	go func() {
		for k, n := range sizes {
			if err := dep.ts[0].Send(ctx, 1, testMessage(0, 1, k, n)); err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	for k, n := range sizes {
		got, err := dep.ts[1].Recv(ctx, 0)
		if err != nil || !bytes.Equal(got, testMessage(0, 1, k, n)) {
			t.Fatalf("message %d of %d bytes: got %d bytes, %v", k, n, len(got), err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if st := dep.ts[1].Stats(); st.Peers[0].MessagesRecv != int64(len(sizes)) {
		t.Errorf("counted %d messages, sent %d", st.Peers[0].MessagesRecv, len(sizes))
	}
}

// TestLibp2pMessageBound: MaxMessageBytes bounds a message however many frames
// carry it, at Send and, against a peer with a larger bound, on reassembly.
func TestLibp2pMessageBound(t *testing.T) {
	const frame, message = 16 << 10, 100 << 10
	dep := newTestDeployment(t, 2, func(i int, c *Libp2pConfig) {
		c.MaxFrameBytes = frame
		if i == 1 {
			c.MaxMessageBytes = message
		}
	})
	ctx := context.Background()
	if err := dep.ts[1].Send(ctx, 0, make([]byte, message+1)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("local send over MaxMessageBytes: got %v, want ErrFrameTooLarge", err)
	}
	if err := dep.ts[0].Send(ctx, 1, make([]byte, message)); err != nil {
		t.Fatal(err)
	}
	if err := dep.ts[0].Send(ctx, 1, make([]byte, message+1)); err != nil {
		t.Fatal(err) // party 0's bound is the default
	}
	if got, err := dep.ts[1].Recv(ctx, 0); err != nil || len(got) != message {
		t.Fatalf("message at the bound: %d bytes, %v", len(got), err)
	}
	_, err := dep.ts[1].Recv(ctx, 0)
	if !errors.Is(err, ErrFrameTooLarge) || !strings.Contains(err.Error(), "peer 0 (") {
		t.Fatalf("got %v, want ErrFrameTooLarge naming peer 0", err)
	}
}

// TestLibp2pCarriesEveryEngineMessage: by default the transport carries the
// largest message the protocol engine may send (protocol.MaxMessageElements
// words after its 16-byte header), also through a mux channel; it used to stop
// at the 256 MiB frame limit, a quarter of that.
func TestLibp2pCarriesEveryEngineMessage(t *testing.T) {
	const engineHeader = 16 // protocol's headerSize
	largest := engineHeader + 8*protocol.MaxMessageElements
	dep := newTestHosts(t, 2, nil)
	if got := dep.ts[0].MaxMessageBytes(); got < largest+1 {
		t.Fatalf("MaxMessageBytes %d, the engine may send %d bytes (plus the mux's channel byte)", got, largest)
	}
	m, err := NewMux(dep.ts[0], 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Channel(0).MaxMessageBytes(); got < largest {
		t.Fatalf("a mux channel carries %d bytes, the engine may send %d", got, largest)
	}
}

func TestAssembler(t *testing.T) {
	var a assembler
	if _, _, err := a.add([]byte{frameMore}, 10); err == nil {
		t.Fatal("an empty part was accepted")
	}
	a = assembler{}
	for _, part := range []string{"ab", "cd"} {
		if _, done, err := a.add(append([]byte{frameMore}, part...), 10); err != nil || done {
			t.Fatalf("part %q: %v, %v", part, done, err)
		}
	}
	if msg, done, err := a.add([]byte{frameData, 'e'}, 10); err != nil || !done || string(msg) != "abcde" {
		t.Fatalf("got %q, %v, %v", msg, done, err)
	}
	if msg, done, err := a.add([]byte{frameData}, 10); err != nil || !done || len(msg) != 0 {
		t.Fatalf("empty message: %q, %v, %v", msg, done, err)
	}
	a.add([]byte{frameMore, 1, 2, 3, 4, 5, 6}, 10)
	if _, _, err := a.add([]byte{frameData, 1, 2, 3, 4, 5}, 10); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("a message over the bound: %v", err)
	}
}

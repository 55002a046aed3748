package network

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestMuxChannelsIndependent interleaves two conversations over one transport: each
// channel keeps its own order, and a slow channel does not block the other.
func TestMuxChannelsIndependent(t *testing.T) {
	ts, _ := NewMemoryNetwork(3)
	muxes := make([]*Mux, 3)
	for i, tr := range ts {
		m, err := NewMux(tr, 2)
		if err != nil {
			t.Fatal(err)
		}
		muxes[i] = m
		defer m.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := 0; i < 3; i++ {
		for c := 0; c < 2; c++ {
			wg.Go(func() {
				ch := muxes[i].Channel(c)
				for k := 0; k < 50; k++ {
					for p := 0; p < 3; p++ {
						if p != i {
							if err := ch.Send(ctx, p, []byte(fmt.Sprintf("c%d-%d-%d", c, i, k))); err != nil {
								errs <- err
								return
							}
						}
					}
				}
				for p := 0; p < 3; p++ {
					if p == i {
						continue
					}
					for k := 0; k < 50; k++ {
						msg, err := ch.Recv(ctx, p)
						if err != nil {
							errs <- err
							return
						}
						if want := fmt.Sprintf("c%d-%d-%d", c, p, k); string(msg) != want {
							errs <- fmt.Errorf("party %d channel %d got %q, want %q", i, c, msg, want)
							return
						}
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := muxes[0].Channel(1).Stats(); st.Peers[1].MessagesSent != 50 {
		t.Fatalf("channel stats: %+v", st.Peers[1])
	}
}

func TestMuxBadChannelAndClose(t *testing.T) {
	ts, _ := NewMemoryNetwork(2)
	m, err := NewMux(ts[1], 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Party 0 speaks raw, with a channel number the mux does not have.
	ts[0].Send(ctx, 1, []byte{7, 1, 2})
	if _, err := m.Channel(0).Recv(ctx, 0); err == nil {
		t.Fatal("a message for channel 7 was accepted")
	}
	m.Close()
	if _, err := m.Channel(1).Recv(ctx, 0); err == nil {
		t.Fatal("receive after Close succeeded")
	}
	if _, err := NewMux(ts[0], 0); err == nil {
		t.Fatal("a mux with no channels was made")
	}
}

// TestMuxSendFrameNested sends over a mux on a channel of another mux (as a
// node's OT channels run): with SendFrame the message reaches the peer
// without a copy, each level counts its bytes as Send does, and Send and a
// frame without room still behave.
func TestMuxSendFrameNested(t *testing.T) {
	ts, _ := NewMemoryNetwork(2)
	inner := make([]*Channel, 2)
	outer := make([]*Channel, 2)
	for i, tr := range ts {
		m, err := NewMux(tr, 3)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		outer[i] = m.Channel(2)
		n, err := NewMux(outer[i], 2)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		inner[i] = n.Channel(1)
	}
	if got := inner[0].FrameRoom(); got != 2 {
		t.Fatalf("nested channel's frame room %d, want 2", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	frame := append(make([]byte, 2, 64), "in place"...)
	if err := inner[0].SendFrame(ctx, 1, frame); err != nil {
		t.Fatal(err)
	}
	if err := inner[0].Send(ctx, 1, []byte("copied")); err != nil {
		t.Fatal(err)
	}
	got, err := inner[1].Recv(ctx, 0)
	if err != nil || string(got) != "in place" || &got[0] != &frame[2] {
		t.Fatalf("received %q (%v), want the frame's own bytes", got, err)
	}
	if got, err := inner[1].Recv(ctx, 0); err != nil || string(got) != "copied" {
		t.Fatalf("received %q (%v)", got, err)
	}
	if in, out := inner[0].Stats().BytesSent, outer[0].Stats().BytesSent; in != 14 || out != 16 {
		t.Fatalf("bytes sent: %d on the inner channel, %d on the outer, want 14 and 16", in, out)
	}
	if err := inner[0].SendFrame(ctx, 1, []byte{0}); err == nil {
		t.Fatal("a frame without room for the headers was sent")
	}
}

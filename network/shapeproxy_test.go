package network

import (
	"io"
	"net"
	"testing"
	"time"
)

// Through the proxy, b bytes arrive no earlier than latency + b / bandwidth after
// they were sent, both ways, and no later than that plus a scheduling slack.
func TestShapingProxyDelaysAsTheModel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// The target echoes everything back.
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	link := Link{Name: "test", RTT: 40 * time.Millisecond, BitsPerSecond: 8e6} // 1 byte per µs
	p, err := NewShapingProxy(ln.Addr().String(), link)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const size = 50_000 // 50 ms on the wire each way
	msg := make([]byte, size)
	start := time.Now()
	go c.Write(msg)
	if _, err := io.ReadFull(c, make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	got := time.Since(start)
	// Each direction: 20 ms latency and 50 ms of transmission (the echo starts on
	// the first bytes, so the two transmissions overlap but for one chunk).
	lower := 2*link.Latency() + link.Transmit(size)
	if got < lower || got > lower+link.Transmit(size)+200*time.Millisecond {
		t.Fatalf("%d bytes there and back in %v, want at least %v and not far more", size, got, lower)
	}
}

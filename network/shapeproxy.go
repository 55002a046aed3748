package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// ShapingProxy forwards TCP connections to a target address through a shaped
// link: each chunk of bytes read from one side is written to the other after the
// link's one-way latency plus its size over the bandwidth, behind the chunks
// before it in that direction (the model of Links, applied to a real socket
// path). It stands in for a WAN between processes on one machine, where the
// kernel's netem is not available.
type ShapingProxy struct {
	ln     net.Listener
	target string
	link   Link
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// proxyChunk bounds one read: a chunk is the unit the link delays.
const proxyChunk = 64 << 10

// proxyQueue bounds the chunks waiting in one direction; a full queue stops
// reading, so TCP's flow control pushes back on the sender.
const proxyQueue = 64

// NewShapingProxy listens on 127.0.0.1 and forwards every connection to target
// through link.
func NewShapingProxy(target string, link Link) (*ShapingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("network: shaping proxy: %w", err)
	}
	p := &ShapingProxy{ln: ln, target: target, link: link, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	return p, nil
}

// Addr is the proxy's listening address (host:port).
func (p *ShapingProxy) Addr() *net.TCPAddr { return p.ln.Addr().(*net.TCPAddr) }

func (p *ShapingProxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		if !p.track(in, out) {
			return
		}
		p.wg.Go(func() { p.pipe(in, out) })
		p.wg.Go(func() { p.pipe(out, in) })
	}
}

// track registers a connection pair unless the proxy is closed.
func (p *ShapingProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

type timedChunk struct {
	data []byte
	at   time.Time
}

// pipe copies src to dst, each chunk delivered when the link would deliver it.
func (p *ShapingProxy) pipe(src, dst net.Conn) {
	queue := make(chan timedChunk, proxyQueue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for c := range queue {
			if err := (wallClock{}).SleepUntil(context.Background(), c.at); err != nil {
				return
			}
			if _, err := dst.Write(c.data); err != nil {
				return
			}
		}
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	}()
	var free time.Time // when the previous chunk has left
	buf := make([]byte, proxyChunk)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			start := time.Now()
			if free.After(start) {
				start = free
			}
			free = start.Add(p.link.Transmit(int64(n)))
			select {
			case queue <- timedChunk{data: append([]byte(nil), buf[:n]...), at: free.Add(p.link.Latency())}:
			case <-done:
				src.Close()
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
			}
			close(queue)
			<-done
			return
		}
	}
}

// Close stops accepting, closes every forwarded connection and waits for the
// proxy's goroutines.
func (p *ShapingProxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

package network

import (
	"bufio"
	"context"
	"net"
	"testing"
)

// Throughput of one peer stream against a raw loopback TCP socket carrying the
// same frames, and ping-pong latency (one round trip per op) of both.
//
//	go test -run x -bench . -benchtime 3s ./network/

const benchMessage = 1 << 20

func BenchmarkLibp2pThroughput1MiB(b *testing.B) {
	dep := newTestDeployment(b, 2, nil)
	benchThroughput(b,
		func(msg []byte) error { return dep.ts[0].Send(context.Background(), 1, msg) },
		func() ([]byte, error) { return dep.ts[1].Recv(context.Background(), 0) })
}

func BenchmarkTCPThroughput1MiB(b *testing.B) {
	a, c := benchTCPPair(b)
	wa, rc := bufio.NewWriterSize(a, 64<<10), bufio.NewReaderSize(c, 64<<10)
	benchThroughput(b,
		func(msg []byte) error {
			if err := writeFrame(wa, frameData, msg); err != nil {
				return err
			}
			return wa.Flush()
		},
		func() ([]byte, error) { return readFrame(rc, DefaultMaxFrameBytes) })
}

func benchThroughput(b *testing.B, send func([]byte) error, recv func() ([]byte, error)) {
	msg := make([]byte, benchMessage)
	b.SetBytes(benchMessage)
	b.ResetTimer()
	done := make(chan error, 1)
	go func() {
		for range b.N {
			if _, err := recv(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		if err := send(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func BenchmarkLibp2pPingPong64B(b *testing.B) {
	dep := newTestDeployment(b, 2, nil)
	ctx := context.Background()
	benchPingPong(b,
		func(msg []byte) error { return dep.ts[0].Send(ctx, 1, msg) },
		func() ([]byte, error) { return dep.ts[0].Recv(ctx, 1) },
		func(msg []byte) error { return dep.ts[1].Send(ctx, 0, msg) },
		func() ([]byte, error) { return dep.ts[1].Recv(ctx, 0) })
}

func BenchmarkTCPPingPong64B(b *testing.B) {
	a, c := benchTCPPair(b)
	ra, rc := bufio.NewReader(a), bufio.NewReader(c)
	benchPingPong(b,
		func(msg []byte) error { return writeFrame(a, frameData, msg) },
		func() ([]byte, error) { return readFrame(ra, DefaultMaxFrameBytes) },
		func(msg []byte) error { return writeFrame(c, frameData, msg) },
		func() ([]byte, error) { return readFrame(rc, DefaultMaxFrameBytes) })
}

func benchPingPong(b *testing.B, sendA func([]byte) error, recvA func() ([]byte, error), sendB func([]byte) error, recvB func() ([]byte, error)) {
	msg := make([]byte, 64)
	done := make(chan error, 1)
	b.ResetTimer()
	go func() {
		for range b.N {
			m, err := recvB()
			if err == nil {
				err = sendB(m)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range b.N {
		if err := sendA(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := recvA(); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

func benchTCPPair(b *testing.B) (net.Conn, net.Conn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	c := <-accepted
	if c == nil {
		b.Fatal("accept failed")
	}
	b.Cleanup(func() { a.Close(); c.Close() })
	return a, c
}

package network

import (
	"bytes"
	"errors"
	"net"
	"strings"
	"testing"
)

func helloBody(h handshakeHello) []byte {
	return append([]byte{frameHello}, h.encode()...)
}

func verdictBody(v handshakeVerdict) []byte {
	return append([]byte{frameVerdict}, v.encode()...)
}

func TestHelloRoundTrip(t *testing.T) {
	for _, h := range []handshakeHello{
		{Version: "tessera-mpc/1", Index: 2, Parties: 3, Session: bytes.Repeat([]byte{0xab}, 32)},
		{Version: "", Index: 0, Parties: maxParties, Session: []byte{1}},
	} {
		got, err := decodeHello(helloBody(h))
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != h.Version || got.Index != h.Index || got.Parties != h.Parties || !bytes.Equal(got.Session, h.Session) {
			t.Fatalf("got %+v, want %+v", got, h)
		}
	}
}

func TestVerdictRoundTrip(t *testing.T) {
	for _, v := range []handshakeVerdict{
		{Accept: true},
		{Accept: false, Reason: "experiment config hash differs"},
		{Accept: false, Reason: strings.Repeat("é", maxReasonLen)}, // truncated on a rune boundary
	} {
		got, err := decodeVerdict(verdictBody(v))
		if err != nil {
			t.Fatal(err)
		}
		if got.Accept != v.Accept || !strings.HasPrefix(v.Reason, got.Reason) || len(got.Reason) > maxReasonLen {
			t.Fatalf("got %+v, want %+v", got, v)
		}
	}
}

func TestDecodeHelloRejects(t *testing.T) {
	good := helloBody(handshakeHello{Version: "v", Index: 1, Parties: 2, Session: []byte{7}})
	cases := map[string][]byte{
		"empty":           {},
		"wrong kind":      append([]byte{frameVerdict}, good[1:]...),
		"truncated":       good[:len(good)-1],
		"trailing":        append(append([]byte(nil), good...), 0),
		"long version":    helloBody(handshakeHello{Version: strings.Repeat("v", maxVersionLen+1), Parties: 2, Session: []byte{1}}),
		"long session":    helloBody(handshakeHello{Version: "v", Parties: 2, Session: make([]byte, maxSessionLen+1)}),
		"huge index":      helloBody(handshakeHello{Version: "v", Index: maxParties + 1, Parties: 2, Session: []byte{1}}),
		"bad uvarint":     {frameHello, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		"length too long": {frameHello, 0x05, 'a'},
		"oversize":        append([]byte{frameHello}, make([]byte, maxHandshakeFrame)...),
	}
	for name, body := range cases {
		if _, err := decodeHello(body); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}

func TestCheckHello(t *testing.T) {
	ours := handshakeHello{Version: "v1", Index: 0, Parties: 3, Session: bytes.Repeat([]byte{0xab}, 32)}
	same := ours
	same.Index = 2
	if r := checkHello(ours, same, 2); r != "" {
		t.Fatalf("matching hello rejected: %s", r)
	}
	theirs := handshakeHello{Version: "v2", Index: 1, Parties: 4, Session: bytes.Repeat([]byte{0xcd}, 32)}
	r := checkHello(ours, theirs, 2)
	for _, want := range []string{
		`protocol version differs: ours "v1", theirs "v2"`,
		"its peer ID is party 2 in our deployment, but it claims to be party 1",
		"party count differs: ours 3, theirs 4",
		"experiment config hash differs: ours abababababababab.., theirs cdcdcdcdcdcdcdcd..",
	} {
		if !strings.Contains(r, want) {
			t.Errorf("reason %q lacks %q", r, want)
		}
	}
}

func TestExchangeHandshakeBothSidesExplain(t *testing.T) {
	a, b := tcpPair(t)
	h0 := handshakeHello{Version: "v", Index: 0, Parties: 2, Session: []byte{0x01, 0x02}}
	h1 := handshakeHello{Version: "v", Index: 1, Parties: 2, Session: []byte{0x03, 0x04}}
	errs := make(chan error, 1)
	go func() {
		errs <- exchangeHandshake(b, h1, func(h handshakeHello) string { return checkHello(h1, h, 0) })
	}()
	err0 := exchangeHandshake(a, h0, func(h handshakeHello) string { return checkHello(h0, h, 1) })
	err1 := <-errs
	for i, c := range []struct {
		err  error
		want string
	}{
		{err0, "experiment config hash differs: ours 0102, theirs 0304"},
		{err1, "experiment config hash differs: ours 0304, theirs 0102"},
	} {
		var he *HandshakeError
		if !errors.As(c.err, &he) || he.Remote || !strings.Contains(he.Reason, c.want) {
			t.Errorf("side %d: got %v, want a local HandshakeError containing %q", i, c.err, c.want)
		}
	}
}

func TestExchangeHandshakeRemoteRejection(t *testing.T) {
	a, b := tcpPair(t)
	h := handshakeHello{Version: "v", Index: 0, Parties: 2, Session: []byte{1}}
	go func() { _ = exchangeHandshake(b, h, func(handshakeHello) string { return "duplicate\x00stream" }) }()
	err := exchangeHandshake(a, h, func(handshakeHello) string { return "" })
	var he *HandshakeError
	if !errors.As(err, &he) || !he.Remote || he.Reason != "duplicate?stream" {
		t.Fatalf("got %#v (%v), want a remote rejection with a sanitised reason", he, err)
	}
}

// tcpPair returns the two ends of a loopback TCP connection (buffered, unlike
// net.Pipe, so both sides may write their hello at once).
func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := l.Accept()
		accepted <- c
	}()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b := <-accepted
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// FuzzHandshakeDecode feeds arbitrary bytes to the handshake decoders, both as a
// frame body and as a stream read through readFrame with the handshake bound:
// they must not panic, must respect every field bound, must round-trip what they
// accept, and must not allocate beyond the handshake bound.
func FuzzHandshakeDecode(f *testing.F) {
	f.Add(helloBody(handshakeHello{Version: "tessera-mpc/1", Index: 1, Parties: 3, Session: bytes.Repeat([]byte{0x5a}, 32)}))
	f.Add(verdictBody(handshakeVerdict{Accept: false, Reason: "experiment config hash differs"}))
	f.Add(frameBytes(frameHello, []byte{0x01, 'v', 0x00, 0x02, 0x01, 0x09}))
	f.Add([]byte{frameVerdict, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		const slack = 64 << 10
		alloc := allocatedBy(func() {
			checkDecoded(t, data)
			if body, err := readFrame(bytes.NewReader(data), maxHandshakeFrame); err == nil {
				if len(body) > maxHandshakeFrame {
					t.Fatalf("readFrame returned %d bytes", len(body))
				}
				checkDecoded(t, body)
			}
		})
		if alloc > 4*uint64(maxHandshakeFrame)+slack {
			t.Fatalf("decoding %d bytes allocated %d", len(data), alloc)
		}
	})
}

func checkDecoded(t *testing.T, body []byte) {
	if h, err := decodeHello(body); err == nil {
		if len(body) > maxHandshakeFrame || len(h.Version) > maxVersionLen || len(h.Session) > maxSessionLen ||
			h.Index < 0 || h.Index > maxParties || h.Parties < 0 || h.Parties > maxParties {
			t.Fatalf("accepted an out-of-bounds hello %+v", h)
		}
		again, err := decodeHello(helloBody(h))
		if err != nil || again.Version != h.Version || again.Index != h.Index || again.Parties != h.Parties || !bytes.Equal(again.Session, h.Session) {
			t.Fatalf("hello %+v does not round-trip: %+v, %v", h, again, err)
		}
	}
	if v, err := decodeVerdict(body); err == nil {
		if len(v.Reason) > maxReasonLen {
			t.Fatalf("accepted a reason of %d bytes", len(v.Reason))
		}
		again, err := decodeVerdict(verdictBody(v))
		if err != nil || again != v {
			t.Fatalf("verdict %+v does not round-trip: %+v, %v", v, again, err)
		}
	}
}

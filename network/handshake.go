package network

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"
)

// The handshake runs once on every peer stream, before any share moves. Both sides
// write a hello frame at once, read the other's, check it, write a verdict frame,
// and read the other's verdict:
//
//	hello   = frameHello   uvarint(len(version)) version uvarint(index) uvarint(parties) uvarint(len(session)) session
//	verdict = frameVerdict accept(0|1) uvarint(len(reason)) reason
//
// Each side checks that the versions and session hashes are equal, that the party
// counts agree, and that the index the peer claims is the one our deployment lists
// for the peer ID the Noise handshake authenticated. The stream is admitted only if
// both sides accept.
const (
	// maxHandshakeFrame bounds a handshake frame body; decoding never allocates more.
	maxHandshakeFrame = 1024
	maxVersionLen     = 64
	maxSessionLen     = 64
	maxReasonLen      = 512
	maxParties        = 1 << 16
)

// handshakeHello is the first message each side sends on a peer stream.
type handshakeHello struct {
	Version string
	Index   int
	Parties int
	Session []byte
}

// handshakeVerdict is each side's answer to the other's hello.
type handshakeVerdict struct {
	Accept bool
	Reason string
}

// HandshakeError reports a peer stream whose handshake failed on a definite
// mismatch (as opposed to a network error): retrying would not help.
type HandshakeError struct {
	Party  int     // the peer's index in our deployment
	Peer   peer.ID // the peer's authenticated ID
	Reason string  // what differs
	Remote bool    // the peer rejected us (Reason is its own wording, from its side)
}

func (e *HandshakeError) Error() string {
	if e.Remote {
		return fmt.Sprintf("peer %d (%s) rejected the handshake: %s (as seen by peer %d)", e.Party, e.Peer, e.Reason, e.Party)
	}
	return fmt.Sprintf("peer %d (%s): %s", e.Party, e.Peer, e.Reason)
}

func (h handshakeHello) encode() []byte {
	b := make([]byte, 0, 4*binary.MaxVarintLen64+len(h.Version)+len(h.Session))
	b = binary.AppendUvarint(b, uint64(len(h.Version)))
	b = append(b, h.Version...)
	b = binary.AppendUvarint(b, uint64(h.Index))
	b = binary.AppendUvarint(b, uint64(h.Parties))
	b = binary.AppendUvarint(b, uint64(len(h.Session)))
	return append(b, h.Session...)
}

func (v handshakeVerdict) encode() []byte {
	reason := truncateUTF8(v.Reason, maxReasonLen)
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(reason))
	if v.Accept {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(reason)))
	return append(b, reason...)
}

// handshakeDecoder consumes a handshake frame body; every length is checked
// against both a fixed bound and the bytes actually present before it is used.
type handshakeDecoder struct {
	b   []byte
	err error
}

func (d *handshakeDecoder) uvarint(what string, limit uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("bad %s", what)
		return 0
	}
	d.b = d.b[n:]
	if v > limit {
		d.err = fmt.Errorf("%s %d exceeds limit %d", what, v, limit)
		return 0
	}
	return v
}

func (d *handshakeDecoder) bytes(what string, limit uint64) []byte {
	n := d.uvarint(what+" length", limit)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("%s truncated", what)
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *handshakeDecoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	return d.err
}

func handshakeBody(body []byte, kind byte) (*handshakeDecoder, error) {
	if len(body) > maxHandshakeFrame {
		return nil, fmt.Errorf("%w: handshake message of %d bytes", ErrFrameTooLarge, len(body))
	}
	if len(body) == 0 {
		return nil, errors.New("empty handshake message")
	}
	if body[0] != kind {
		return nil, fmt.Errorf("unexpected message kind 0x%02x during handshake", body[0])
	}
	return &handshakeDecoder{b: body[1:]}, nil
}

// decodeHello parses a hello frame body (kind byte included).
func decodeHello(body []byte) (handshakeHello, error) {
	d, err := handshakeBody(body, frameHello)
	if err != nil {
		return handshakeHello{}, err
	}
	var h handshakeHello
	version := d.bytes("protocol version", maxVersionLen)
	h.Index = int(d.uvarint("party index", maxParties))
	h.Parties = int(d.uvarint("party count", maxParties))
	session := d.bytes("session hash", maxSessionLen)
	if err := d.finish(); err != nil {
		return handshakeHello{}, fmt.Errorf("malformed hello: %w", err)
	}
	h.Version = string(version)
	h.Session = append([]byte(nil), session...)
	return h, nil
}

// decodeVerdict parses a verdict frame body (kind byte included).
func decodeVerdict(body []byte) (handshakeVerdict, error) {
	d, err := handshakeBody(body, frameVerdict)
	if err != nil {
		return handshakeVerdict{}, err
	}
	if len(d.b) == 0 {
		return handshakeVerdict{}, errors.New("malformed verdict: empty")
	}
	accept := d.b[0]
	d.b = d.b[1:]
	if accept > 1 {
		return handshakeVerdict{}, fmt.Errorf("malformed verdict: accept byte 0x%02x", accept)
	}
	reason := d.bytes("reason", maxReasonLen)
	if err := d.finish(); err != nil {
		return handshakeVerdict{}, fmt.Errorf("malformed verdict: %w", err)
	}
	return handshakeVerdict{Accept: accept == 1, Reason: sanitizeText(string(reason), maxReasonLen)}, nil
}

// checkHello compares a peer's hello with ours. expectIndex is the index our
// deployment lists for the peer's authenticated ID. It returns "" when the hello
// is acceptable, else a description of every difference.
func checkHello(ours, theirs handshakeHello, expectIndex int) string {
	var diffs []string
	if ours.Version != theirs.Version {
		diffs = append(diffs, fmt.Sprintf("protocol version differs: ours %q, theirs %q", ours.Version, theirs.Version))
	}
	if theirs.Index != expectIndex {
		diffs = append(diffs, fmt.Sprintf("its peer ID is party %d in our deployment, but it claims to be party %d", expectIndex, theirs.Index))
	}
	if ours.Parties != theirs.Parties {
		diffs = append(diffs, fmt.Sprintf("party count differs: ours %d, theirs %d", ours.Parties, theirs.Parties))
	}
	if string(ours.Session) != string(theirs.Session) {
		diffs = append(diffs, fmt.Sprintf("experiment config hash differs: ours %s, theirs %s", shortHex(ours.Session), shortHex(theirs.Session)))
	}
	return strings.Join(diffs, "; ")
}

// exchangeHandshake runs the handshake on rw (whose deadlines the caller sets).
// check inspects the peer's hello and returns "" to accept it or the reason to
// reject it. A definite mismatch, found by either side, is returned as a
// *HandshakeError (Party and Peer left for the caller to fill in); anything else
// is an I/O error worth a retry.
func exchangeHandshake(rw io.ReadWriter, ours handshakeHello, check func(handshakeHello) string) error {
	if err := writeFrame(rw, frameHello, ours.encode()); err != nil {
		return fmt.Errorf("handshake: send hello: %w", err)
	}
	body, err := readFrame(rw, maxHandshakeFrame)
	if err != nil {
		return fmt.Errorf("handshake: read hello: %w", err)
	}
	var reason string
	if theirs, err := decodeHello(body); err != nil {
		reason = err.Error()
	} else {
		reason = check(theirs)
	}
	if err := writeFrame(rw, frameVerdict, handshakeVerdict{Accept: reason == "", Reason: reason}.encode()); err != nil {
		if reason != "" {
			return &HandshakeError{Reason: reason}
		}
		return fmt.Errorf("handshake: send verdict: %w", err)
	}
	// Read the peer's verdict even after rejecting it: the peer then learns our
	// reason before the stream closes, and we learn whether it objects too.
	body, err = readFrame(rw, maxHandshakeFrame)
	if reason != "" {
		return &HandshakeError{Reason: reason}
	}
	if err != nil {
		return fmt.Errorf("handshake: read verdict: %w", err)
	}
	v, err := decodeVerdict(body)
	if err != nil {
		return &HandshakeError{Reason: err.Error()}
	}
	if !v.Accept {
		return &HandshakeError{Reason: v.Reason, Remote: true}
	}
	return nil
}

// shortHex renders a hash for an error message: the first 8 bytes in hex.
func shortHex(b []byte) string {
	if len(b) == 0 {
		return "(empty)"
	}
	if len(b) <= 8 {
		return hex.EncodeToString(b)
	}
	return hex.EncodeToString(b[:8]) + ".."
}

// sanitizeText makes peer-supplied text safe to print: valid UTF-8, no control
// characters, at most limit bytes.
func sanitizeText(s string, limit int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			return '?'
		}
		return r
	}, s)
	return truncateUTF8(s, limit)
}

// truncateUTF8 cuts s to at most limit bytes without splitting a rune.
func truncateUTF8(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

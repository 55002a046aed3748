package serve

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// The forward channel: a party other than the leader passes the queries posted
// to it to the leader, [id 8 bytes | query body], and the leader answers each,
// [id 8 | HTTP status 2 | answer body or error text]. The leader validates a
// forwarded query as it does its own.

type forwarder struct {
	s       *Service
	sendMu  sync.Mutex
	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan result
	down    error // the leader's channel failed
}

func newForwarder(s *Service) *forwarder {
	return &forwarder{s: s, pending: map[uint64]chan result{}}
}

func (f *forwarder) run(ctx context.Context) {
	if f.s.cfg.Self == leader {
		for j := range f.s.cfg.Parties {
			if j != leader {
				go f.serveParty(ctx, j)
			}
		}
		return
	}
	go f.readReplies(ctx)
}

func (f *forwarder) send(ctx context.Context, to int, msg []byte) error {
	f.sendMu.Lock()
	defer f.sendMu.Unlock()
	return f.s.cfg.Forward.Send(ctx, to, msg)
}

// serveParty is the leader's reader of the queries party j forwards.
func (f *forwarder) serveParty(ctx context.Context, j int) {
	for {
		msg, err := f.s.cfg.Forward.Recv(ctx, j)
		if err != nil {
			return // the control channel reports a lost party
		}
		if len(msg) < 8 {
			return
		}
		id := binary.LittleEndian.Uint64(msg)
		go func() {
			r := f.s.answer(ctx, msg[8:])
			reply := binary.LittleEndian.AppendUint64(nil, id)
			reply = binary.LittleEndian.AppendUint16(reply, uint16(r.status))
			if r.err != nil {
				reply = append(reply, r.err.Error()...)
			} else {
				reply = append(reply, r.body...)
			}
			f.send(ctx, j, reply)
		}()
	}
}

// forward passes a query body to the leader and waits for its answer.
func (f *forwarder) forward(ctx context.Context, body []byte) result {
	f.mu.Lock()
	if f.down != nil {
		f.mu.Unlock()
		return result{status: 503, err: fmt.Errorf("no query reaches the leader (party %d): %w", leader, f.down)}
	}
	id := f.next
	f.next++
	ch := make(chan result, 1)
	f.pending[id] = ch
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.pending, id)
		f.mu.Unlock()
	}()
	msg := binary.LittleEndian.AppendUint64(make([]byte, 0, 8+len(body)), id)
	if err := f.send(ctx, leader, append(msg, body...)); err != nil {
		return result{status: 503, err: fmt.Errorf("forwarding the query to the leader (party %d): %w", leader, err)}
	}
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
		return result{status: 503, err: ctx.Err()}
	}
}

// readReplies delivers the leader's answers to the waiting queries.
func (f *forwarder) readReplies(ctx context.Context) {
	for {
		msg, err := f.s.cfg.Forward.Recv(ctx, leader)
		if err == nil && len(msg) < 10 {
			err = errors.New("a reply shorter than its header")
		}
		if err != nil {
			if stop := f.s.stopped(); stop != nil {
				err = stop // this party failed first: its own error says why
			}
			f.mu.Lock()
			f.down = err
			for _, ch := range f.pending {
				ch <- result{status: 503, err: fmt.Errorf("no answer from the leader (party %d): %w", leader, err)}
			}
			f.pending = map[uint64]chan result{}
			f.mu.Unlock()
			return
		}
		id := binary.LittleEndian.Uint64(msg)
		r := result{status: int(binary.LittleEndian.Uint16(msg[8:]))}
		if r.status == 200 {
			r.body = msg[10:]
		} else {
			r.err = errors.New(string(msg[10:]))
		}
		f.mu.Lock()
		if ch, ok := f.pending[id]; ok {
			ch <- r
			delete(f.pending, id)
		}
		f.mu.Unlock()
	}
}

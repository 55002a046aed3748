package serve

import (
	"context"
	"fmt"

	"github.com/tessera-mpc/tessera/protocol/he"
	"github.com/tessera-mpc/tessera/sharing"
)

// Every party computes queries in two stages that overlap: while the engine
// runs the model on one query's shares (stage 2, then the answer shares on
// the Answers channel), the next query is already decrypted to shares (stage
// 1, on the Control channel). Both stages take queries in the leader's order,
// so every party runs the engine on the same queries in the same order.
//
// A query begun is finished even when the service is asked to stop; any
// failure cancels both stages, answers every query in flight with it, and the
// service stops.

// staged is a query decrypted to this party's shares, waiting for stage 2.
type staged struct {
	j *job // the leader's job, nil elsewhere
	q *Query
	x sharing.Tensor
}

// pipeline runs stage 1 (shares) and stage 2 (infer) and returns the first failure.
func (s *Service) pipeline(ctx context.Context, shares func(ctx, work context.Context, out chan<- staged) error, infer func(work context.Context, st staged) error) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	in := make(chan staged, 1)
	done := make(chan error, 1)
	go func() {
		var failed error
		for st := range in {
			if failed == nil {
				failed = infer(work, st)
				if failed != nil {
					failed = fmt.Errorf("party %d: %w", s.cfg.Self, failed)
					s.fail(failed)
					cancelWork()
				}
			}
			if st.j != nil {
				answerFailed(st.j, failed, s.stopped())
			}
		}
		done <- failed
	}()
	// Stage 1 waits for the next query until the service stops or stage 2 fails.
	next, stopNext := context.WithCancel(ctx)
	defer stopNext()
	defer context.AfterFunc(work, stopNext)()
	err := shares(next, work, in)
	if err != nil {
		err = fmt.Errorf("party %d: %w", s.cfg.Self, err)
		s.fail(err)
		cancelWork()
	}
	close(in)
	if failed := <-done; err == nil {
		err = failed
	}
	return err
}

// answerFailed answers a staged job that stage 2 did not answer itself.
func answerFailed(j *job, failed, stopped error) {
	if failed == nil {
		return
	}
	err := stopped
	if err == nil {
		err = failed
	}
	select {
	case j.done <- result{status: 503, err: err}:
	default: // answered already (its own failure)
	}
}

// lead runs the pipeline on the leader's queue; at the end it tells the others.
func (s *Service) lead(ctx context.Context) error {
	err := s.pipeline(ctx, s.leadShares, s.leadInfer)
	if err == nil {
		s.broadcast(context.WithoutCancel(ctx), []byte{msgEnd})
	}
	s.drain()
	return err
}

// leadShares takes queued queries until ctx ends: stage 1 on the leader.
func (s *Service) leadShares(ctx, work context.Context, out chan<- staged) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-work.Done():
			return nil // stage 2 failed
		case j := <-s.jobs:
			s.m.queue.Dec()
			j.stage(s.m, stageQueued)
			x, err := s.leaderShares(work, j.q)
			if err != nil {
				j.done <- result{status: 503, err: fmt.Errorf("party %d: %w", s.cfg.Self, err)}
				return err
			}
			j.stage(s.m, stageShares)
			out <- staged{j: j, q: j.q, x: x}
		}
	}
}

// leaderShares sends a query to every party and aggregates their masked shares
// into the leader's shares of the rows.
func (s *Service) leaderShares(ctx context.Context, q *Query) (sharing.Tensor, error) {
	msg := encodeQueryC1([]byte{msgQuery}, q)
	q.raw = nil // the body need not outlive the parsed ciphertexts
	if err := s.broadcast(ctx, msg); err != nil {
		return sharing.Tensor{}, err
	}
	rows, w := q.Meta.Rows, q.Meta.Features
	want := 0
	for k := range q.Cts {
		want += he.MaskedShareBytes(valuesIn(k, rows, w))
	}
	masked := make([][][]byte, len(q.Cts)) // [ciphertext][party]
	for k := range masked {
		masked[k] = make([][]byte, s.cfg.Parties)
	}
	for j := range s.cfg.Parties {
		if j == s.cfg.Self {
			continue
		}
		m, err := s.recvExact(ctx, s.cfg.Control, j, want, "masked shares")
		if err != nil {
			return sharing.Tensor{}, err
		}
		for k := range q.Cts {
			n := he.MaskedShareBytes(valuesIn(k, rows, w))
			masked[k][j], m = m[:n], m[n:]
		}
	}
	x := sharing.Zeros(rows, w)
	err := parallelFor(len(q.Cts), func(k int) error {
		share, err := s.cfg.Keys.AggregateQuery(q.Cts[k], valuesIn(k, rows, w), masked[k])
		copy(x.Data[k*he.MaxValues:], share)
		return err
	})
	return x, err
}

// leadInfer is stage 2 on the leader: infer, sum the answers, answer the job.
func (s *Service) leadInfer(work context.Context, st staged) error {
	st.j.stage(s.m, stageWaiting)
	answers, err := s.inferAndEncrypt(work, st.x, st.q)
	if err != nil {
		return err
	}
	st.j.stage(s.m, stageInfer)
	body, err := s.sumAnswers(work, st.q, answers)
	if err != nil {
		return err
	}
	st.j.stage(s.m, stageAnswers)
	st.j.done <- result{body: body, status: 200}
	return nil
}

// follow runs the leader's queries until it ends the session.
func (s *Service) follow(ctx context.Context) error {
	return s.pipeline(ctx, s.followShares, s.followInfer)
}

// followShares is stage 1 on a party other than the leader: receive a query,
// send the masked shares, keep this party's shares.
func (s *Service) followShares(ctx, work context.Context, out chan<- staged) error {
	for {
		msg, err := s.cfg.Control.Recv(ctx, leader)
		if err != nil {
			if ctx.Err() != nil || work.Err() != nil {
				return nil
			}
			return fmt.Errorf("waiting for the leader's next query: %w", err)
		}
		if len(msg) == 1 && msg[0] == msgEnd {
			return nil
		}
		if len(msg) == 0 || msg[0] != msgQuery {
			return fmt.Errorf("the leader sent an unknown control message")
		}
		q, x, err := s.followerShares(work, msg[1:])
		if err != nil {
			return err
		}
		out <- staged{q: q, x: x}
	}
}

func (s *Service) followerShares(ctx context.Context, body []byte) (*Query, sharing.Tensor, error) {
	q, err := decodeQueryC1(body, s.limits)
	if err != nil {
		return nil, sharing.Tensor{}, fmt.Errorf("the leader's query: %w", err)
	}
	q.raw = nil
	rows, w := q.Meta.Rows, q.Meta.Features
	x := sharing.Zeros(rows, w)
	// The masked shares, one after the other, written in place: growing one
	// message of ~24 MB per 1,024 MNIST rows cost 7% of a query's CPU.
	offsets := make([]int, len(q.Cts)+1)
	for k := range q.Cts {
		offsets[k+1] = offsets[k] + he.MaskedShareBytes(valuesIn(k, rows, w))
	}
	all := make([]byte, offsets[len(q.Cts)])
	err = parallelFor(len(q.Cts), func(k int) error {
		m, share, err := s.cfg.Keys.MaskQuery(q.Cts[k], valuesIn(k, rows, w))
		if err == nil && len(m) != offsets[k+1]-offsets[k] {
			err = fmt.Errorf("a masked share of %d bytes, want %d", len(m), offsets[k+1]-offsets[k])
		}
		if err == nil {
			copy(all[offsets[k]:], m)
			copy(x.Data[k*he.MaxValues:], share)
		}
		return err
	})
	if err != nil {
		return nil, sharing.Tensor{}, err
	}
	if err := s.cfg.Control.Send(ctx, leader, all); err != nil {
		return nil, sharing.Tensor{}, fmt.Errorf("sending the masked shares to the leader: %w", err)
	}
	return q, x, nil
}

// followInfer is stage 2 on a party other than the leader.
func (s *Service) followInfer(work context.Context, st staged) error {
	answers, err := s.inferAndEncrypt(work, st.x, st.q)
	if err != nil {
		return err
	}
	out := make([]byte, 0, len(answers)*he.CiphertextBytes())
	for _, ct := range answers {
		out = append(out, ct.Bytes()...)
	}
	if err := s.cfg.Answers.Send(work, leader, out); err != nil {
		return fmt.Errorf("sending the answer shares to the leader: %w", err)
	}
	return nil
}

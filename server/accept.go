package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"

	"github.com/mobsim/mobsim/kernel"
)

// accept drains the listener until it would block, within the per-tick
// budget. A budget cut is remembered (acceptAgain): the contract gives no new
// edge for connections already waiting.
func (s *Server) accept() {
	if s.lnClosed || s.acceptPaused {
		return
	}
	if s.acceptTick != s.tick {
		s.acceptTick, s.acceptLeft = s.tick, s.cfg.AcceptsPerTickMax
	}
	for ; s.acceptLeft > 0; s.acceptLeft-- {
		st, err := s.ln.Accept()
		if err != nil {
			if isWouldBlock(err) {
				return
			}
			s.stats.AcceptErrors++
			if acceptRetryNow(err) {
				// The failed connection is gone; the next may be fine.
				s.log.Debug("accept", "err", err)
				continue
			}
			s.pauseAccept(err)
			return
		}
		s.stats.Accepted++
		s.acceptBackoff = 0
		s.admit(st)
	}
	s.acceptAgain = true
}

// acceptRetryNow reports accept errors that concern only the connection being
// accepted, as opposed to the process (EMFILE) or the system (ENFILE).
func acceptRetryNow(err error) bool {
	return errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EINTR) ||
		errors.Is(err, syscall.EPROTO) || errors.Is(err, syscall.EPERM)
}

// pauseAccept stops accepting until a timer fires. Retrying at once would
// spin: with EMFILE the backlog stays readable and nothing changes until some
// descriptor is closed. The connections wait in the backlog meanwhile.
func (s *Server) pauseAccept(err error) {
	b := s.acceptBackoff * 2
	b = max(b, s.cfg.AcceptBackoffMin)
	b = min(b, s.cfg.AcceptBackoffMax)
	s.acceptBackoff = b
	s.acceptPaused = true
	s.acceptResume = after(s.now, b)
	s.stats.AcceptPauses++
	s.log.Warn("accept paused", "err", err, "retry_in", b, "conns", s.tab.live)
}

// admit makes an accepted stream a member, or turns it away when ConnsMax are
// open.
func (s *Server) admit(st kernel.Stream) {
	if s.tab.live >= s.cfg.ConnsMax {
		s.reject(st)
		return
	}
	c := &conn{stream: st, state: stateMember, stop: noStop, heapIdx: -1, holdIdx: -1, cursor: s.ring.end,
		tokens: int64(s.cfg.InputBurstBytes), tokensAt: s.now}
	c.vw, _ = st.(kernel.VectorWriter)
	c.tok = s.tab.add(c)
	if err := s.poller.Register(st, c.tok, kernel.InterestRead|kernel.InterestWrite); err != nil {
		s.tab.remove(c.tok)
		c.state = stateClosed
		s.stats.Closed[ReasonRegisterError]++
		if s.cfg.Observer != nil {
			s.cfg.Observer.Closed(st, ReasonRegisterError)
		}
		s.log.Warn("register", "conn", st, "err", err)
		if err := st.Close(); err != nil {
			s.log.Debug("close", "conn", st, "err", err)
		}
		return
	}
	c.memberIdx = len(s.members)
	s.members = append(s.members, c)
	s.lag.push(c)
	s.idle.pushBack(c, s.now)
	if s.cfg.Observer != nil {
		s.cfg.Observer.Joined(st)
	}
	if s.log.Enabled(context.Background(), slog.LevelDebug) { // boxing the count allocates
		s.log.Debug("accepted", "conn", st, "members", len(s.members))
	}
}

// reject tells a connection over ConnsMax why, in one frame, and closes it.
// The write is best effort: a fresh socket's send buffer has room for it.
func (s *Server) reject(st kernel.Stream) {
	msg := s.cfg.Framing.Encode(nil, fmt.Appendf(nil, "error: server full (%d connections)", s.cfg.ConnsMax))
	_, werr := st.Write(msg)
	s.stats.WriteCalls++
	if err := st.CloseWrite(); err != nil && werr == nil {
		werr = err
	}
	s.stats.Closed[ReasonConnsLimit]++
	if s.cfg.Observer != nil {
		s.cfg.Observer.Closed(st, ReasonConnsLimit)
	}
	if err := st.Close(); err != nil && werr == nil {
		werr = err
	}
	s.log.Info("rejected: connection limit", "conn", st, "conns_max", s.cfg.ConnsMax, "err", werr)
}

package sim

import (
	"hash/crc32"

	"github.com/mobsim/mobsim/internal/recfile"
	"github.com/mobsim/mobsim/oracle"
)

// streamTallies keep, for each connection the clients' account names,
// what the replayed core read from it and wrote to it, by count and
// CRC-32C, so the account can be checked once the recording ends: the far
// side of each connection against the near side.
type streamTallies struct {
	byID     map[uint64]*streamTally // lookups only; order is list's
	list     []*streamTally          // in the account's order
	accounts []recfile.Account
}

type streamTally struct {
	acct *recfile.Account

	read    uint64
	readCRC uint32
	eof     bool // the server read the client's FIN

	written    uint64
	writtenCRC uint32
	// prefixCRC is the CRC of the first acct.Received bytes written,
	// taken as the writes pass that point.
	prefixCRC uint32
}

func newStreamTallies(accounts []recfile.Account) streamTallies {
	t := streamTallies{byID: map[uint64]*streamTally{}, accounts: accounts}
	for i := range t.accounts {
		a := &t.accounts[i]
		if _, dup := t.byID[a.Conn]; dup {
			continue // a world's facts are taken as true: the first account counts
		}
		s := &streamTally{acct: a}
		t.byID[a.Conn], t.list = s, append(t.list, s)
	}
	return t
}

func (t *streamTallies) read(id uint64, p []byte) {
	if s := t.byID[id]; s != nil {
		s.read += uint64(len(p))
		s.readCRC = crc32.Update(s.readCRC, recfile.CRCTable, p)
	}
}

func (t *streamTallies) eof(id uint64) {
	if s := t.byID[id]; s != nil {
		s.eof = true
	}
}

func (t *streamTallies) wrote(id uint64, p []byte) {
	s := t.byID[id]
	if s == nil {
		return
	}
	if want := s.acct.Received; s.written < want {
		n := min(uint64(len(p)), want-s.written)
		s.prefixCRC = crc32.Update(s.prefixCRC, recfile.CRCTable, p[:n])
	}
	s.written += uint64(len(p))
	s.writtenCRC = crc32.Update(s.writtenCRC, recfile.CRCTable, p)
}

// check judges each account against the tallies (see
// ReplayAccountChecks) and returns how many connections it joined: those
// the recording has (an account of a connection the recording never
// accepted is a client the server never served, unless the recording
// stopped first, which check is not called for).
func (t *streamTallies) check(o *oracle.Oracle) int {
	joined := 0
	for _, s := range t.list {
		a := s.acct
		if _, ok := o.Conn(a.Conn); !ok {
			o.FailConn(a.Conn, InvLiveness, "%s: the recording has no such connection: the server never accepted it", a.Name)
			continue
		}
		joined++
		st, _ := o.Conn(a.Conn)
		switch {
		case a.Received > s.written:
			o.FailConn(a.Conn, InvKernel, "%s received %d bytes; the server wrote %d", a.Name, a.Received, s.written)
		case a.ReceivedCRC != s.prefixCRC:
			o.FailConn(a.Conn, InvKernel, "%s: the %d bytes it received differ from the first %d the server wrote (CRC-32C %#08x, written %#08x)",
				a.Name, a.Received, a.Received, a.ReceivedCRC, s.prefixCRC)
		case st.Closed && st.CloseWhy.PromisesFlush() && a.End == "eof" && !a.Reset && a.Received != s.written:
			o.FailConn(a.Conn, InvDelivery, "conn %d closed for %v after a flush, but %s read %d of the %d bytes written to it before the end of stream",
				a.Conn, st.CloseWhy, a.Name, a.Received, s.written)
		case s.read > a.Sent:
			o.FailConn(a.Conn, InvKernel, "the server read %d bytes from %s, which sent %d", s.read, a.Name, a.Sent)
		case a.Fin && !a.Reset && s.eof && s.read != a.Sent:
			o.FailConn(a.Conn, InvKernel, "the server read %s's end of stream after %d of the %d bytes it sent before its FIN", a.Name, s.read, a.Sent)
		case s.read == a.Sent && s.readCRC != a.SentCRC:
			o.FailConn(a.Conn, InvKernel, "the %d bytes the server read from %s differ from those it sent (CRC-32C %#08x, sent %#08x)",
				s.read, a.Name, s.readCRC, a.SentCRC)
		}
	}
	return joined
}

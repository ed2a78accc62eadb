package server

import "github.com/mobsim/mobsim/kernel"

// Tokens are (slot, generation) pairs: the low 32 bits index the connection
// table, the high 32 bits carry the slot's generation at registration. A slot's
// generation changes every time it is freed, so an event that names a slot
// freed and reused in the same batch no longer matches and is dropped — the
// same idea as the (pointer, fdseq) tag in Go's runtime poller.

// listenerToken names the listening socket. Connection generations start at
// 1, so no connection token is ever 0.
const listenerToken kernel.Token = 0

func makeToken(slot, gen uint32) kernel.Token { return kernel.Token(uint64(gen)<<32 | uint64(slot)) }

func slotOf(t kernel.Token) uint32 { return uint32(t) }
func genOf(t kernel.Token) uint32  { return uint32(t >> 32) }

// table holds the live connections by slot. Freed slots are reused last-freed
// first, which is the order most likely to expose a stale token.
type table struct {
	conns []*conn
	gens  []uint32
	free  []uint32
	live  int
}

// add stores c in a free slot and returns its token.
func (t *table) add(c *conn) kernel.Token {
	var slot uint32
	if n := len(t.free); n > 0 {
		slot = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		// Slots never exceed ConnsMax (at most 2^24), so no token can
		// equal ReservedToken.
		slot = uint32(len(t.conns))
		t.conns = append(t.conns, nil)
		t.gens = append(t.gens, 1)
	}
	t.conns[slot] = c
	t.live++
	return makeToken(slot, t.gens[slot])
}

// get returns the connection tok names, or nil when tok is unknown, freed, or
// from an earlier use of a reused slot.
func (t *table) get(tok kernel.Token) *conn {
	slot := slotOf(tok)
	if uint64(slot) >= uint64(len(t.conns)) || t.gens[slot] != genOf(tok) {
		return nil
	}
	return t.conns[slot]
}

// remove frees tok's slot and moves its generation on, so tok goes stale.
func (t *table) remove(tok kernel.Token) {
	slot := slotOf(tok)
	if t.get(tok) == nil {
		return
	}
	t.conns[slot] = nil
	t.gens[slot]++
	if t.gens[slot] == 0 { // 2^32 reuses: skip 0 so no token equals listenerToken
		t.gens[slot] = 1
	}
	t.free = append(t.free, slot)
	t.live--
}

package server

import (
	"testing"

	"github.com/mobsim/mobsim/kernel"
)

// The table must never hand an old token's event to a new connection: a slot
// freed and reused gets a new generation, so the old token stops resolving.
func TestTableGenerationStopsABA(t *testing.T) {
	var tab table
	a := &conn{}
	ta := tab.add(a)
	if tab.get(ta) != a {
		t.Fatal("fresh token does not resolve")
	}
	tab.remove(ta)
	if tab.get(ta) != nil {
		t.Fatal("removed token still resolves")
	}
	b := &conn{}
	tb := tab.add(b)
	if slotOf(tb) != slotOf(ta) {
		t.Fatalf("slot not reused: %d then %d", slotOf(ta), slotOf(tb))
	}
	if tab.get(ta) != nil {
		t.Fatal("stale token resolves to the slot's new connection (ABA)")
	}
	if tab.get(tb) != b {
		t.Fatal("new token does not resolve")
	}
	tab.remove(ta) // stale remove must not free b's slot
	if tab.get(tb) != b || tab.live != 1 {
		t.Fatal("removing a stale token freed the live connection")
	}
}

// Tokens that were never issued, or name slots beyond the table, are unknown.
func TestTableUnknownTokens(t *testing.T) {
	var tab table
	for _, tok := range []kernel.Token{0, 1, makeToken(0, 0), makeToken(7, 1), ^kernel.Token(0)} {
		if tab.get(tok) != nil {
			t.Fatalf("token %#x resolves in an empty table", uint64(tok))
		}
	}
	tab.add(&conn{})
	if tab.get(listenerToken) != nil {
		t.Fatal("the listener token resolves to a connection")
	}
}

// Reuse is last-freed-first, and the generation of every reused slot moves.
func TestTableReuseOrder(t *testing.T) {
	var tab table
	toks := make([]kernel.Token, 4)
	for i := range toks {
		toks[i] = tab.add(&conn{})
	}
	tab.remove(toks[1])
	tab.remove(toks[3])
	if got := tab.add(&conn{}); slotOf(got) != slotOf(toks[3]) || genOf(got) == genOf(toks[3]) {
		t.Fatalf("got %v, want slot %d with a new generation", got, slotOf(toks[3]))
	}
}

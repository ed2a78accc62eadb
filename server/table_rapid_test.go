package server

import (
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"pgregory.net/rapid"
)

// The token table never lets an old token reach a new connection. Method: a
// rapid state machine adds and removes connections in random order (removing
// stale tokens too, and ageing a free slot to just before its generation
// wraps) against a plain model: the live tokens with their connections, and
// every token ever issued and since removed. After every action each live
// token resolves to its own connection, no removed token resolves at all
// (tab.get returns nil: the generation stopped the ABA), no token is issued
// twice, none is 0 (the listener's) or ReservedToken, and the live count
// matches.
func TestTableTokensProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var tab table
		type entry struct {
			tok kernel.Token
			c   *conn
		}
		var live []entry          // model: live tokens and their connections
		var dead []kernel.Token   // model: tokens issued and removed
		var issued []kernel.Token // model: every token ever issued, in order

		t.Repeat(map[string]func(*rapid.T){
			"add": func(t *rapid.T) {
				c := &conn{}
				tok := tab.add(c)
				for _, old := range issued {
					if old == tok {
						t.Fatalf("token %#x issued twice (slot %d, generation %d)", uint64(tok), slotOf(tok), genOf(tok))
					}
				}
				if tok == listenerToken || tok == kernel.ReservedToken {
					t.Fatalf("issued the reserved token %#x", uint64(tok))
				}
				issued = append(issued, tok)
				live = append(live, entry{tok, c})
				t.Logf("add: slot %d generation %d", slotOf(tok), genOf(tok))
			},
			"remove": func(t *rapid.T) {
				if len(live) == 0 {
					t.Skip("nothing live")
				}
				i := rapid.IntRange(0, len(live)-1).Draw(t, "which")
				e := live[i]
				live = append(live[:i], live[i+1:]...)
				tab.remove(e.tok)
				dead = append(dead, e.tok)
				t.Logf("remove: slot %d generation %d", slotOf(e.tok), genOf(e.tok))
			},
			"removeStale": func(t *rapid.T) {
				if len(dead) == 0 {
					t.Skip("no stale token")
				}
				tok := rapid.SampledFrom(dead).Draw(t, "stale")
				tab.remove(tok)
				t.Logf("remove stale: slot %d generation %d (must change nothing)", slotOf(tok), genOf(tok))
			},
			"ageFreeSlot": func(t *rapid.T) {
				// A slot reused 2^32 times wraps its generation, and then
				// an ancient token could match again: tokens are only safe
				// for 2^32 reuses of one slot. Jump a free slot to the edge
				// to test the wrap (it must skip 0, keeping tokens off the
				// listener's), and forget that slot's dead tokens, which
				// that many reuses ago would be.
				if len(tab.free) == 0 {
					t.Skip("no free slot")
				}
				slot := tab.free[rapid.IntRange(0, len(tab.free)-1).Draw(t, "free slot")]
				tab.gens[slot] = ^uint32(0) - uint32(rapid.IntRange(0, 1).Draw(t, "before wrap"))
				kept := dead[:0]
				for _, tok := range dead {
					if slotOf(tok) != slot {
						kept = append(kept, tok)
					}
				}
				dead = kept
				kept = issued[:0]
				for _, tok := range issued {
					if slotOf(tok) != slot {
						kept = append(kept, tok)
					}
				}
				issued = kept
				t.Logf("age: slot %d now at generation %d", slot, tab.gens[slot])
			},
			"": func(t *rapid.T) {
				for _, e := range live {
					if got := tab.get(e.tok); got != e.c {
						t.Fatalf("live token %#x resolves to %p, want %p", uint64(e.tok), got, e.c)
					}
				}
				for _, tok := range dead {
					if got := tab.get(tok); got != nil {
						t.Fatalf("removed token %#x (slot %d, generation %d) resolves again (slot now at generation %d)",
							uint64(tok), slotOf(tok), genOf(tok), tab.gens[slotOf(tok)])
					}
				}
				if tab.get(listenerToken) != nil || tab.get(kernel.ReservedToken) != nil {
					t.Fatalf("a reserved token resolves")
				}
				if tab.live != len(live) {
					t.Fatalf("table counts %d live, the model %d", tab.live, len(live))
				}
			},
		})
	})
}

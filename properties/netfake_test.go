package properties

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// netfakeOpen returns the open function newChaosPoller wants for sources of
// k: a socket is open until the server closes it; the listener counts as
// open (its token is never invented as stale).
func netfakeOpen(k *netfake.Kernel) func(kernel.Source) bool {
	return func(src kernel.Source) bool {
		s, ok := src.(*netfake.Socket)
		if !ok {
			return true
		}
		info, ok := k.Conn(s.ID())
		return ok && !info.ServerClosed
	}
}

// netfakeName names a netfake source for logs: "c<id>" for a socket (the id
// its client has), "listener" for a listener.
func netfakeName(src kernel.Source) string {
	switch s := src.(type) {
	case *netfake.Socket:
		return fmt.Sprintf("c%d", s.ID())
	case *netfake.Listener:
		return "listener"
	}
	return fmt.Sprintf("%T", src)
}

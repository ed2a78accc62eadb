package properties

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
)

// NetfakeOpen returns the open function NewChaosPoller wants for sources of
// k: a socket is open until the server closes it; the listener counts as
// open (its token is never invented as stale).
func NetfakeOpen(k *netfake.Kernel) func(kernel.Source) bool {
	return func(src kernel.Source) bool {
		s, ok := src.(*netfake.Socket)
		if !ok {
			return true
		}
		info, ok := k.Conn(s.ID())
		return ok && !info.ServerClosed
	}
}

// NetfakeName names a netfake source for logs: "c<id>" for a socket (the id
// its client has), "listener" for a listener.
func NetfakeName(src kernel.Source) string {
	switch s := src.(type) {
	case *netfake.Socket:
		return fmt.Sprintf("c%d", s.ID())
	case *netfake.Listener:
		return "listener"
	}
	return fmt.Sprintf("%T", src)
}

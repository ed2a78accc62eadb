package netfake

import (
	"fmt"
	"strings"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Kind says what a trace Record is about.
type Kind uint8

// Record kinds. Server syscalls first, then the simulator's client actions,
// then what the kernel does on its own (transmission, clock).
const (
	KindListen Kind = iota + 1
	KindAccept
	KindRead
	KindWrite
	KindWritev
	KindCloseWrite
	KindClose
	KindListenerClose
	KindRegister
	KindReregister
	KindDeregister
	KindPoll
	KindEvent // one per event handed out by Poll, after its KindPoll

	KindConnect
	KindClientRead
	KindClientWrite
	KindClientShutdown
	KindClientReset
	KindClientClose

	KindDataToServer // N bytes on the wire arrived at the server (readable now); with Err, N bytes were lost to a dead peer
	KindDataToClient
	KindFINToServer
	KindFINToClient
	KindRSTToServer
	KindRSTToClient
	KindAdvance      // the clock moved by N nanoseconds (Advance or a Poll timeout)
	KindSendToServer // N bytes that waited in the client's send buffer went on the wire (the window opened)
	KindSendToClient
	KindSYNRetry // a dropped connect's SYN retry number N: ok (queued), EAGAIN (dropped again), ETIMEDOUT, ECONNREFUSED
	KindUnacked  // UnackedBytes returned N (the server's unacknowledged bytes, and its FIN)
	KindAbort    // Abort: close with an RST
)

var kindNames = [...]string{
	KindListen:         "listen",
	KindAccept:         "accept",
	KindRead:           "read",
	KindWrite:          "write",
	KindWritev:         "writev",
	KindCloseWrite:     "shutdown(wr)",
	KindClose:          "close",
	KindListenerClose:  "close(listener)",
	KindRegister:       "register",
	KindReregister:     "reregister",
	KindDeregister:     "deregister",
	KindPoll:           "poll",
	KindEvent:          "  event",
	KindConnect:        "client connect",
	KindClientRead:     "client read",
	KindClientWrite:    "client write",
	KindClientShutdown: "client shutdown(wr)",
	KindClientReset:    "client reset",
	KindClientClose:    "client close",
	KindDataToServer:   "net data c->s",
	KindDataToClient:   "net data s->c",
	KindFINToServer:    "net FIN c->s",
	KindFINToClient:    "net FIN s->c",
	KindRSTToServer:    "net RST c->s",
	KindRSTToClient:    "net RST s->c",
	KindAdvance:        "clock",
	KindSendToServer:   "net send c->s",
	KindSendToClient:   "net send s->c",
	KindSYNRetry:       "net SYN retry",
	KindUnacked:        "ioctl(SIOCOUTQ)",
	KindAbort:          "close(abort)",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Errno is the outcome of a traced operation, as a small stable code (an
// error value cannot be hashed or compared across processes).
type Errno uint8

// Outcomes.
const (
	OK Errno = iota
	EAGAIN
	EOF
	ECONNRESET
	EPIPE
	EBADF
	EMFILE
	ECONNABORTED
	ECONNREFUSED
	EINTR
	EEXIST
	ENOENT
	EINVAL
	ENOTCONN
	EINPROGRESS // a connect whose SYN was dropped (trace only: Connect returns the client)
	ETIMEDOUT
	ENOTSUP // the kernel cannot tell (Config.NoUnacked)
)

var errnoNames = [...]string{
	OK: "ok", EAGAIN: "EAGAIN", EOF: "EOF", ECONNRESET: "ECONNRESET", EPIPE: "EPIPE",
	EBADF: "EBADF", EMFILE: "EMFILE", ECONNABORTED: "ECONNABORTED",
	ECONNREFUSED: "ECONNREFUSED", EINTR: "EINTR", EEXIST: "EEXIST", ENOENT: "ENOENT",
	EINVAL: "EINVAL", ENOTCONN: "ENOTCONN", EINPROGRESS: "EINPROGRESS", ETIMEDOUT: "ETIMEDOUT",
	ENOTSUP: "ENOTSUP",
}

func (e Errno) String() string {
	if int(e) < len(errnoNames) {
		return errnoNames[e]
	}
	return fmt.Sprintf("errno(%d)", uint8(e))
}

// Record is one line of the kernel's trace: a server syscall, a client
// action, an event handed out by Poll, or something the kernel did on its
// own. Fields that do not apply are zero (FD is -1 when there is none).
type Record struct {
	Time  time.Duration // virtual time
	Kind  Kind
	FD    int32        // server fd the syscall used, -1 if none
	Conn  uint64       // connection id, 0 if none
	Token kernel.Token // Register/Reregister/Event
	N     int64        // bytes, fd accepted, events returned, nanoseconds: see Kind
	Want  int64        // Write/Writev: the bytes asked for (N is what the kernel took); not hashed
	Err   Errno        // outcome
	Ready kernel.Ready // Event readiness, or Interest for (Re)Register
	Fault Fault        // the fault injected into this syscall, if any
}

// String renders the record as one line of a readable timeline.
func (r Record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%12s %-20s", r.Time, r.Kind)
	if r.FD >= 0 {
		fmt.Fprintf(&b, " fd=%d", r.FD)
	}
	if r.Conn != 0 {
		fmt.Fprintf(&b, " conn=%d", r.Conn)
	}
	switch r.Kind {
	case KindRegister, KindReregister:
		fmt.Fprintf(&b, " tok=%#x interest=%s", uint64(r.Token), interestString(kernel.Interest(r.Ready)))
	case KindEvent:
		fmt.Fprintf(&b, " tok=%#x %s", uint64(r.Token), r.Ready)
	case KindDeregister, KindClose, KindCloseWrite, KindClientShutdown, KindClientReset, KindClientClose,
		KindFINToClient, KindFINToServer, KindRSTToClient, KindRSTToServer, KindListenerClose:
	case KindAdvance:
		fmt.Fprintf(&b, " +%s", time.Duration(r.N))
	case KindWrite, KindWritev:
		fmt.Fprintf(&b, " n=%d", r.N)
		if r.Want != r.N {
			fmt.Fprintf(&b, " of %d", r.Want)
		}
	default:
		fmt.Fprintf(&b, " n=%d", r.N)
	}
	if r.Err != OK {
		fmt.Fprintf(&b, " err=%s", r.Err)
	}
	if r.Fault != FaultNone {
		fmt.Fprintf(&b, " fault=%s", r.Fault)
	}
	return b.String()
}

func interestString(in kernel.Interest) string {
	switch in {
	case kernel.InterestRead:
		return "R"
	case kernel.InterestWrite:
		return "W"
	case kernel.InterestRead | kernel.InterestWrite:
		return "RW"
	}
	return fmt.Sprintf("%#x", uint8(in))
}

// FNV-1a 64-bit parameters, used word-wise by hashRecord.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// hashRecord folds r into h, FNV-1a style but a 64-bit word at a time
// (five words a record) with an xor-shift after each multiply: the hash runs
// on every syscall, so it must be cheap. The words are time, then kind, fd,
// err, ready and fault packed together, then conn, token and n. The encoding
// never depends on pointers, maps or the process, so a seed gives the same
// hash in every run.
func hashRecord(h uint64, r *Record) uint64 {
	packed := uint64(r.Kind) | uint64(uint32(r.FD))<<8 | uint64(r.Err)<<40 | uint64(r.Ready)<<48 | uint64(r.Fault)<<56
	h = hashWord(h, uint64(r.Time))
	h = hashWord(h, packed)
	h = hashWord(h, r.Conn)
	h = hashWord(h, uint64(r.Token))
	return hashWord(h, uint64(r.N))
}

func hashWord(h, w uint64) uint64 {
	h = (h ^ w) * fnvPrime64
	return h ^ h>>32
}

// record appends r to the running hash and hands it to the tracer, if any.
// It takes a pointer so the hot paths build the record on their stack.
func (k *Kernel) record(r *Record) {
	r.Time = k.now
	k.hash = hashRecord(k.hash, r)
	k.records++
	if k.tracer != nil {
		k.tracer(*r)
	}
}

// Hash returns the running hash of every record so far. Two kernels that
// were given the same seed, configuration and calls have the same hash.
func (k *Kernel) Hash() uint64 { return k.hash }

// Records returns how many records the trace holds so far.
func (k *Kernel) Records() uint64 { return k.records }

// SetTracer installs fn to receive every record as it happens (nil removes
// it). The hash is kept whether or not a tracer is set.
func (k *Kernel) SetTracer(fn func(Record)) { k.tracer = fn }

package netfake

import (
	"math/rand/v2"
	"time"

	"github.com/mobsim/mobsim/kernel"
)

var _ kernel.Poller = (*Kernel)(nil)

// EdgeMode chooses when a registration gets a new edge.
type EdgeMode uint8

// Edge modes. EdgeStrict gives only the edges the seam contract promises;
// EdgeLinux gives the ones Linux's epoll and tcp_poll give. Strict's events
// are always a subset of Linux's for the same calls.
const (
	EdgeStrict EdgeMode = iota
	EdgeLinux
)

func (m EdgeMode) String() string {
	if m == EdgeLinux {
		return "linux"
	}
	return "strict"
}

// BatchShape chooses how readiness is packed into events.
type BatchShape uint8

// Batch shapes. BatchEpoll merges read and write readiness into one event
// per token; BatchKqueue reports them as separate events (one token can then
// appear twice in a batch, as with EVFILT_READ and EVFILT_WRITE).
const (
	BatchEpoll BatchShape = iota
	BatchKqueue
)

func (s BatchShape) String() string {
	if s == BatchKqueue {
		return "kqueue"
	}
	return "epoll"
}

// Config fixes a kernel's shape. Zero fields take the defaults below.
type Config struct {
	Edge  EdgeMode
	Batch BatchShape

	// FDMax is the number of server fds (listeners plus accepted sockets)
	// the server process may hold, like RLIMIT_NOFILE minus stdin, stdout
	// and stderr. Accept fails with EMFILE when it is reached.
	FDMax int

	// Socket buffer capacities in bytes, from 1 up. The server's side of
	// every connection gets RecvBufBytes/SendBufBytes, the client's side
	// ClientRecvBufBytes/ClientSendBufBytes (ConnectWith overrides them).
	RecvBufBytes       int
	SendBufBytes       int
	ClientRecvBufBytes int
	ClientSendBufBytes int

	// StrictNoInitialRead makes strict mode withhold the readable edge at
	// (re)registration for data, connections, FINs or errors that were
	// already there. The seam contract does not promise that edge, but
	// epoll and kqueue both give it, so by default strict mode does too: a
	// server that relies on it is not wrong on any real kernel. Set this
	// to test a server against the contract's letter (it must then read
	// after accept).
	StrictNoInitialRead bool

	// SYNRetry is the first retransmission timeout of a connect whose SYN
	// a full accept queue dropped; it doubles with each retry (Linux's
	// TCP_TIMEOUT_INIT). SYNRetries is how many retries there are before
	// the connect fails with ETIMEDOUT (net.ipv4.tcp_syn_retries).
	SYNRetry   time.Duration
	SYNRetries int

	// NoUnacked makes Socket.UnackedBytes fail with ENOTSUP, as on a
	// kernel that cannot count unacknowledged bytes (OpenBSD, NetBSD,
	// DragonFly): a server must then fall back to waiting for the peer's
	// FIN or a deadline before it closes.
	NoUnacked bool

	// Epoch is the value of Now at start.
	Epoch time.Duration

	// Faults is the initial fault plan (SetFaults changes it).
	Faults FaultPlan

	// Work makes the server's syscalls take time and lets the network
	// move between them (see Work). The zero value does neither.
	Work Work
}

// Defaults for zero Config fields.
const (
	DefaultFDMax      = 1024
	DefaultBufBytes   = 64 << 10
	DefaultSYNRetry   = time.Second // Linux's TCP_TIMEOUT_INIT
	DefaultSYNRetries = 6           // Linux's net.ipv4.tcp_syn_retries: ETIMEDOUT after 127 s
)

func (c Config) withDefaults() Config {
	if c.FDMax <= 0 {
		c.FDMax = DefaultFDMax
	}
	for _, p := range []*int{&c.RecvBufBytes, &c.SendBufBytes, &c.ClientRecvBufBytes, &c.ClientSendBufBytes} {
		if *p <= 0 {
			*p = DefaultBufBytes
		}
	}
	if c.SYNRetry <= 0 {
		c.SYNRetry = DefaultSYNRetry
	}
	if c.SYNRetries <= 0 {
		c.SYNRetries = DefaultSYNRetries
	}
	return c
}

// Kernel is the fake kernel: the server's fd table, its poller, the
// connections with their socket buffers, the clients' side of them, a
// virtual clock, a fault plan and a trace. It is not safe for concurrent
// use; the simulation is single-threaded by design.
type Kernel struct {
	rng     *rand.Rand
	cfg     Config
	faults  FaultPlan
	now     time.Duration
	workOff bool // cfg.Work.Off(), on the hot path

	files   []*file // fd table, indexed by fd; nil when free
	lowFree int     // no free fd below this index
	open    int     // open server fds

	regList    []*file // live registrations, for spurious-event picks
	ready      []*file // registrations with a pending edge (each at most once)
	batch      []*file // per event of the last batch: its file, or nil (for the trace)
	batchFault []Fault // per event of the last batch: the fault that made it, if any
	stale      [16]kernel.Token
	staleN     int // stale tokens remembered, at most len(stale)
	staleAt    int // next slot to overwrite

	conns  []*conn // every connection, indexed by id-1
	active []*conn // connections that may still move bytes, in the order they were established
	dials  []*conn // connects in progress, by the due time of their next SYN retry

	pool bufPool

	obs            Observer
	tracer         func(Record)
	hash           uint64
	records        uint64
	faultsInjected [faultCount]uint64
}

// firstFD is the first fd a server gets, as after stdin, stdout, stderr.
const firstFD = 3

// New returns a kernel whose every choice (transmission sizes, batch order,
// faults) comes from rng.
func New(rng *rand.Rand, cfg Config) *Kernel {
	cfg = cfg.withDefaults()
	return &Kernel{
		rng:     rng,
		cfg:     cfg,
		faults:  cfg.Faults,
		now:     cfg.Epoch,
		workOff: cfg.Work.Off(),
		files:   make([]*file, firstFD, 64),
		lowFree: firstFD,
		hash:    fnvOffset64,
	}
}

// Config returns the kernel's configuration, with defaults filled in.
func (k *Kernel) Config() Config { return k.cfg }

// Now returns the virtual clock. Advance and Poll timeouts move it, and so
// does the server's work when Config.Work costs time.
func (k *Kernel) Now() time.Duration { return k.now }

// Advance moves the virtual clock forward by d (d <= 0 does nothing). The
// SYN retries that fall due on the way happen at their own times.
func (k *Kernel) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	t := k.now + d
	k.runDials(t)
	k.advanceTo(t)
}

// advanceTo moves the clock to t if t is later.
func (k *Kernel) advanceTo(t time.Duration) {
	if t <= k.now {
		return
	}
	d := t - k.now
	k.now = t
	k.record(&Record{Kind: KindAdvance, FD: -1, N: int64(d)})
}

// nextDial returns when the next SYN retry is due, if one is pending.
func (k *Kernel) nextDial() (time.Duration, bool) {
	if len(k.dials) == 0 {
		return 0, false
	}
	return k.dials[0].dialDue, true
}

// SetObserver installs o to be told every server-side syscall result (nil
// removes it).
func (k *Kernel) SetObserver(o Observer) { k.obs = o }

// allocFD returns the lowest free fd, as Unix does, or -1 at FDMax.
func (k *Kernel) allocFD(f *file) int32 {
	if k.open >= k.cfg.FDMax {
		return -1
	}
	fd := k.lowFree
	for fd < len(k.files) && k.files[fd] != nil {
		fd++
	}
	if fd == len(k.files) {
		k.files = append(k.files, nil)
	}
	k.files[fd] = f
	k.lowFree = fd + 1
	k.open++
	return int32(fd)
}

func (k *Kernel) freeFD(fd int32) {
	k.files[fd] = nil
	k.lowFree = min(k.lowFree, int(fd))
	k.open--
}

// OpenFDs returns the number of open server fds (listeners and sockets).
func (k *Kernel) OpenFDs() int { return k.open }

// Registrations returns the number of live poller registrations.
func (k *Kernel) Registrations() int { return len(k.regList) }

// PendingEdges returns how many registrations have an edge waiting for Poll.
func (k *Kernel) PendingEdges() int { return len(k.ready) }

// FDs appends the open server fds to dst in increasing order, for leak
// reports.
func (k *Kernel) FDs(dst []int) []int {
	for fd, f := range k.files {
		if f != nil {
			dst = append(dst, fd)
		}
	}
	return dst
}

package netfake_test

import (
	"testing"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/kerneltest"
	"github.com/mobsim/mobsim/netfake"
)

// The seam's contract suite on the fake kernel, in both edge modes and both
// batch shapes, with default buffers and no faults except those the suite
// switches on itself (interrupts, spurious events).
func TestKernelContract(t *testing.T) {
	for _, edge := range []netfake.EdgeMode{netfake.EdgeStrict, netfake.EdgeLinux} {
		for _, batch := range []netfake.BatchShape{netfake.BatchEpoll, netfake.BatchKqueue} {
			t.Run(edge.String()+"/"+batch.String(), func(t *testing.T) {
				kerneltest.Run(t, func(*testing.T) kerneltest.Harness {
					return &fakeHarness{k: newKernel(1, netfake.Config{Edge: edge, Batch: batch})}
				})
			})
		}
	}
}

// fakeHarness gives the suite a fake kernel. Settle is Flush: loopback
// delivers everything that fits at once, and so does the suite's peer.
type fakeHarness struct {
	k *netfake.Kernel
}

// contractBacklog is the accept queue of the suite's listeners; no subtest
// leaves more than a handful of connections waiting.
const contractBacklog = 16

// spuriousChance is the per-Poll probability of each spurious-event fault
// while the suite asks for them.
const spuriousChance = 0.3

func (h *fakeHarness) Poller() kernel.Poller { return h.k }

func (h *fakeHarness) Listen() (kernel.Listener, error) { return h.k.Listen(contractBacklog) }

func (h *fakeHarness) Dial(l kernel.Listener) (kerneltest.Peer, error) {
	c, err := h.k.Connect(l.(*netfake.Listener))
	if err != nil {
		return nil, err
	}
	return fakePeer{c}, nil
}

func (h *fakeHarness) Settle() { h.k.Flush() }

func (h *fakeHarness) SetInterrupts(on bool) {
	plan := h.k.Faults()
	plan.Interrupt = 0
	if on {
		plan.Interrupt = 1
	}
	h.k.SetFaults(plan)
}

func (h *fakeHarness) SetSpurious(on bool) {
	plan := h.k.Faults()
	plan.SpuriousReady, plan.SpuriousToken = 0, 0
	if on {
		plan.SpuriousReady, plan.SpuriousToken = spuriousChance, spuriousChance
	}
	h.k.SetFaults(plan)
}

// fakePeer is a netfake client under the names the suite uses.
type fakePeer struct{ *netfake.Client }

func (p fakePeer) CloseWrite() error { return p.ShutdownWrite() }
func (p fakePeer) Abort() error      { return p.Reset() }

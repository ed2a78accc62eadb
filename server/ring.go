package server

// ring is the broadcast log: every frame the server reads is appended once,
// and each connection owns a cursor into it. A connection's pending output
// is the byte range [cursor, end) (capped at the point where it left), so a
// frame is never copied per member and a burst of frames leaves as one or two
// contiguous slices — one writev.
//
// Offsets are absolute (they only grow); the buffer holds [head, end). The
// server keeps end-head at most QueueBytesMax by closing any connection that
// would fall further behind, so the buffer never grows past the next power of
// two above that.
type ring struct {
	buf  []byte
	mask uint64
	head uint64 // oldest byte still owed to some connection
	end  uint64 // offset of the next byte appended
}

const ringBytesMin = 4 << 10

// used returns the number of retained bytes.
func (r *ring) used() uint64 { return r.end - r.head }

// reserve makes room for n more bytes, growing the buffer (by doubling,
// preserving content) when needed. The caller bounds used()+n.
func (r *ring) reserve(n int) {
	need := r.used() + uint64(n)
	if need <= uint64(len(r.buf)) {
		return
	}
	size := uint64(len(r.buf))
	if size == 0 {
		size = ringBytesMin
	}
	for size < need {
		size *= 2
	}
	a, b := r.slices(r.head, r.end)
	r.buf, r.mask = make([]byte, size), size-1
	// Offsets keep their meaning: each byte moves to its offset modulo the
	// new size.
	r.place(r.head, a)
	r.place(r.head+uint64(len(a)), b)
}

// place copies p to the buffer at absolute offset off, wrapping as needed.
func (r *ring) place(off uint64, p []byte) {
	i := off & r.mask
	n := copy(r.buf[i:], p)
	copy(r.buf, p[n:])
}

// append adds p at end. The caller has reserved room.
func (r *ring) append(p []byte) {
	if len(p) == 0 {
		return
	}
	r.place(r.end, p)
	r.end += uint64(len(p))
}

// slices returns [from, to) as at most two contiguous slices.
func (r *ring) slices(from, to uint64) (a, b []byte) {
	if from >= to {
		return nil, nil
	}
	i, j := from&r.mask, to&r.mask
	if i < j {
		return r.buf[i:j], nil
	}
	return r.buf[i:], r.buf[:j]
}

// release forgets bytes before head; they are owed to nobody.
func (r *ring) release(head uint64) {
	if head > r.end {
		head = r.end
	}
	if head > r.head {
		r.head = head
	}
}

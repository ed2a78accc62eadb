package netfake

// ring is a bounded FIFO of bytes: a socket buffer. Its capacity (limit) is
// the socket's buffer size, from 1 byte up; its backing array grows on demand
// up to the limit so that thousands of idle sockets with large buffers cost
// little memory, and once grown it is reused, so steady-state reads and writes
// allocate nothing.
type ring struct {
	buf   []byte   // backing store, a power of two long; may exceed limit
	head  int      // index of the first byte in buf
	n     int      // bytes stored
	limit int      // capacity in bytes
	pool  *bufPool // where backing arrays come from and go back to
}

// ringGrowMin is the smallest backing array a ring allocates.
const ringGrowMin = 256

func (r *ring) free() int { return r.limit - r.n }

// reserve makes room in the backing array for extra more bytes. The caller
// has already checked that n+extra <= limit.
func (r *ring) reserve(extra int) {
	need := r.n + extra
	if need <= len(r.buf) {
		return
	}
	size := 1 << sizeClass(max(2*len(r.buf), need, ringGrowMin))
	nb := r.pool.get(size)
	r.peek(nb[:r.n])
	if r.buf != nil {
		r.pool.put(r.buf)
	}
	r.buf, r.head = nb, 0
}

// write appends as much of p as fits and returns how much that was.
func (r *ring) write(p []byte) int {
	m := min(len(p), r.free())
	if m == 0 {
		return 0
	}
	r.reserve(m)
	tail := (r.head + r.n) % len(r.buf)
	c := copy(r.buf[tail:], p[:m])
	copy(r.buf, p[c:m])
	r.n += m
	return m
}

// peek copies the first len(p) bytes (len(p) <= n) without consuming them.
func (r *ring) peek(p []byte) {
	if len(p) == 0 {
		return
	}
	c := copy(p, r.buf[r.head:min(len(r.buf), r.head+len(p))])
	copy(p[c:], r.buf)
}

// read moves up to len(p) bytes into p and returns how many.
func (r *ring) read(p []byte) int {
	m := min(len(p), r.n)
	r.peek(p[:m])
	r.drop(m)
	return m
}

// drop discards the first m bytes (m <= n).
func (r *ring) drop(m int) {
	r.n -= m
	if r.n == 0 {
		r.head = 0
		return
	}
	r.head = (r.head + m) % len(r.buf)
}

// moveTo transfers the first m bytes to dst (m <= n, m <= dst.free()) in at
// most two copies, without a temporary buffer.
func (r *ring) moveTo(dst *ring, m int) {
	for m > 0 {
		end := min(len(r.buf), r.head+m)
		c := dst.write(r.buf[r.head:end])
		r.drop(c)
		m -= c
	}
}

// release empties the ring and hands its backing array back to the pool.
func (r *ring) release() {
	if r.buf != nil {
		r.pool.put(r.buf)
	}
	r.buf, r.head, r.n = nil, 0, 0
}

// bufPool keeps backing arrays of dead sockets for reuse by new ones, so a
// long simulation with connection churn does not keep allocating. Every
// array is a power of two long; the pool keeps them per size class and is
// bounded. Reused arrays hold stale bytes, which is harmless: a ring only
// reads what it wrote.
type bufPool struct {
	class [40][][]byte
	kept  int
}

const bufPoolMax = 256

func sizeClass(n int) int {
	c := 0
	for (1 << c) < n {
		c++
	}
	return c
}

func (p *bufPool) put(b []byte) {
	if p.kept >= bufPoolMax {
		return
	}
	c := sizeClass(len(b))
	p.class[c] = append(p.class[c], b)
	p.kept++
}

func (p *bufPool) get(size int) []byte {
	c := sizeClass(size)
	if l := len(p.class[c]); l > 0 {
		b := p.class[c][l-1]
		p.class[c][l-1] = nil
		p.class[c] = p.class[c][:l-1]
		p.kept--
		return b
	}
	return make([]byte, 1<<c)
}

package netfake_test

// recorder is an Observer that keeps what it is told, per connection.
type recorder struct {
	accepted, closedWrite, closed, reset []uint64
	read, wrote                          map[uint64][]byte
}

func (r *recorder) Accepted(id uint64) { r.accepted = append(r.accepted, id) }
func (r *recorder) Read(id uint64, p []byte) {
	if r.read == nil {
		r.read = map[uint64][]byte{}
	}
	r.read[id] = append(r.read[id], p...)
}
func (r *recorder) Wrote(id uint64, p []byte) {
	if r.wrote == nil {
		r.wrote = map[uint64][]byte{}
	}
	r.wrote[id] = append(r.wrote[id], p...)
}
func (r *recorder) ClosedWrite(id uint64) { r.closedWrite = append(r.closedWrite, id) }
func (r *recorder) Closed(id uint64)      { r.closed = append(r.closed, id) }
func (r *recorder) Reset(id uint64)       { r.reset = append(r.reset, id) }

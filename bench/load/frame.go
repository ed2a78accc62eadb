package load

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/mobsim/mobsim/server"
)

// Frame layout. mob framing: the 8-byte header, then send time (int64, big
// endian), client id and sequence (uint32 each), then zero padding. line
// framing: the same three fields as 32 hex digits (a binary body could hold a
// '\n'), then '.' padding and the newline. Sizes include header or newline.
const (
	payloadBytes   = 16
	payloadHexLen  = 2 * payloadBytes
	frameBytesMin  = server.MobHeaderBytes + payloadHexLen + 1
	frameBytesMax  = 64 << 10
	linePadByte    = '.'
	frameBytesDflt = 64
)

// checkFrameBytes reports whether size is a usable frame size.
func checkFrameBytes(size int) error {
	if size < frameBytesMin || size > frameBytesMax {
		return fmt.Errorf("frame size %d outside [%d, %d]", size, frameBytesMin, frameBytesMax)
	}
	return nil
}

// appendFrame appends one frame of exactly size bytes.
func appendFrame(dst []byte, f server.Framing, size int, sendNs int64, id, seq uint32) []byte {
	var p [payloadBytes]byte
	binary.BigEndian.PutUint64(p[0:], uint64(sendNs))
	binary.BigEndian.PutUint32(p[8:], id)
	binary.BigEndian.PutUint32(p[12:], seq)
	if f == server.FramingMob {
		body := size - server.MobHeaderBytes
		dst = binary.BigEndian.AppendUint64(dst, uint64(body))
		dst = append(dst, p[:]...)
		for range body - payloadBytes {
			dst = append(dst, 0)
		}
		return dst
	}
	dst = hex.AppendEncode(dst, p[:])
	for range size - 1 - payloadHexLen {
		dst = append(dst, linePadByte)
	}
	return append(dst, '\n')
}

// parseFrame reads the fields back from one complete frame.
func parseFrame(f server.Framing, frame []byte) (sendNs int64, id, seq uint32, ok bool) {
	var p [payloadBytes]byte
	if f == server.FramingMob {
		if len(frame) < server.MobHeaderBytes+payloadBytes {
			return 0, 0, 0, false
		}
		copy(p[:], frame[server.MobHeaderBytes:])
	} else {
		if len(frame) < payloadHexLen+1 {
			return 0, 0, 0, false
		}
		if _, err := hex.Decode(p[:], frame[:payloadHexLen]); err != nil {
			return 0, 0, 0, false
		}
	}
	return int64(binary.BigEndian.Uint64(p[0:])), binary.BigEndian.Uint32(p[8:]), binary.BigEndian.Uint32(p[12:]), true
}

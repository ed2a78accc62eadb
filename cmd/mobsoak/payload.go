package main

import (
	"encoding/binary"

	"github.com/mobsim/mobsim/server"
)

// A frame body is its key, 8 bytes big-endian, then a payload that is a
// pure function of the key: its length and every byte. A receiver can
// check any frame byte for byte without the sender's help, and the server
// reports the key of each frame it reads. The key is the sending
// connection's id (high 32 bits) and the frame's sequence number on that
// connection (low 32 bits). Ids start at 1, so no key begins with the
// bytes "error: " of the server's error frames (that would take more than
// 1.7 billion connections).

// keyBytes is the size of the key at the start of every body.
const keyBytes = 8

// frameKey makes a key.
func frameKey(id, seq uint32) uint64 { return uint64(id)<<32 | uint64(seq) }

// splitmix64 is a fast, well-mixed step for generating payloads.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// payloadLen is the payload length for key: mostly short, now and then up
// to payloadMax.
func payloadLen(key uint64, payloadMax int) int {
	h := splitmix64(key ^ 0x5eed)
	// In uint64: int(h>>8) is negative on 32-bit systems half the time.
	if h%16 == 0 {
		return int((h >> 8) % uint64(payloadMax+1))
	}
	return int((h >> 8) % uint64(min(payloadMax, 256)+1))
}

// appendBody appends the body for key to dst.
func appendBody(dst []byte, key uint64, payloadMax int) []byte {
	dst = binary.BigEndian.AppendUint64(dst, key)
	n := payloadLen(key, payloadMax)
	x := key
	for i := 0; i < n; i += 8 {
		x = splitmix64(x)
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], x)
		dst = append(dst, w[:min(8, n-i)]...)
	}
	return dst
}

// appendFrame appends the whole mob frame (header and body) for key.
func appendFrame(dst []byte, key uint64, payloadMax int) []byte {
	n := keyBytes + payloadLen(key, payloadMax)
	dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	return appendBody(dst, key, payloadMax)
}

// checkBody reports whether body is exactly the body for its key.
func checkBody(body []byte, payloadMax int) bool {
	if len(body) < keyBytes {
		return false
	}
	key := binary.BigEndian.Uint64(body)
	n := payloadLen(key, payloadMax)
	if len(body) != keyBytes+n {
		return false
	}
	p := body[keyBytes:]
	x := key
	for i := 0; i < n; i += 8 {
		x = splitmix64(x)
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], x)
		if string(p[i:min(i+8, n)]) != string(w[:min(8, n-i)]) {
			return false
		}
	}
	return true
}

// bodySize is the body length a well-formed frame with key has.
func bodySize(key uint64, payloadMax int) int { return keyBytes + payloadLen(key, payloadMax) }

// headerBytes is the mob header size, for readability below.
const headerBytes = server.MobHeaderBytes

package recfile

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
)

// AccountSuffix names the clients' account of a recording: the
// recording's path with this added.
const AccountSuffix = ".clients"

// Account is what one client saw of one connection, the far side of what
// the recording holds.
type Account struct {
	// Conn is the recording's id of the server's side of the connection
	// (netrec.ID).
	Conn uint64 `json:"conn"`
	// Name is how reports call the client ("conn 12 (chatty, 127.0.0.3:41234)").
	Name string `json:"name"`
	// Sent is every byte the client's socket took, in order, by count and
	// CRC-32C (Castagnoli).
	Sent    uint64 `json:"sent"`
	SentCRC uint32 `json:"sent_crc"`
	// Received is every byte the client read, the same way.
	Received    uint64 `json:"received"`
	ReceivedCRC uint32 `json:"received_crc"`
	// End is how its reading ended: "eof" (a clean end of stream),
	// "truncated" (an end inside a frame), "reset" (an error), "local"
	// (it closed its own socket first) or "none" (it never read).
	End string `json:"end"`
	// Fin says the client sent its FIN (shut down its writing) after all
	// it sent.
	Fin bool `json:"fin,omitempty"`
	// Reset says the client reset its socket (an RST, unsent bytes
	// dropped).
	Reset bool `json:"reset,omitempty"`
	// Survivor says the client was connected through the end of the run
	// and was told to leave with a FIN and read to the end.
	Survivor bool `json:"survivor,omitempty"`
}

// CRCTable is the CRC the account's digests use: CRC-32C, as netrec's.
var CRCTable = crc32.MakeTable(crc32.Castagnoli)

// WriteAccounts writes one JSON line per account.
func WriteAccounts(w io.Writer, accounts []Account) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range accounts {
		if err := enc.Encode(&accounts[i]); err != nil {
			return fmt.Errorf("clients' account: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("clients' account: %w", err)
	}
	return nil
}

// ReadAccounts reads what WriteAccounts wrote.
func ReadAccounts(r io.Reader) ([]Account, error) {
	var out []Account
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var a Account
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return nil, fmt.Errorf("clients' account, line %d: %w", line, err)
		}
		switch a.End {
		case "eof", "truncated", "reset", "local", "none":
		default:
			return nil, fmt.Errorf("clients' account, line %d: end %q is not eof, truncated, reset, local or none", line, a.End)
		}
		if a.Conn == 0 {
			return nil, fmt.Errorf("clients' account, line %d: no connection id", line)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("clients' account: %w", err)
	}
	return out, nil
}

package recfile

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/mobsim/mobsim/server"
)

// Core is what a recording says about the core it recorded.
type Core struct {
	// Program is what ran the core: "mob", "mobsoak", "bench".
	Program string `json:"program"`
	// Server is the configuration in force (Logger and Observer are not
	// kept).
	Server server.Config `json:"server"`
	// Bugs are the catalog bugs switched on, by name (the catalog build).
	Bugs []string `json:"bugs,omitempty"`
	// Writes and DigestEvery say what the recording keeps of each write
	// (netrec.Options), for the reader's information.
	Writes      string `json:"writes,omitempty"`
	DigestEvery int    `json:"digest_every,omitempty"`
	// FrameNotes says the core's Frame claims are notes in the recording
	// (netrec.Observer's SkipFrames off); the replay's adapter must do
	// the same.
	FrameNotes bool `json:"frame_notes,omitempty"`
}

// Encode writes c as the header's config: JSON, Logger and Observer left
// out.
func Encode(c Core) ([]byte, error) {
	c.Server.Logger, c.Server.Observer = nil, nil
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("recorded config: %w", err)
	}
	return b, nil
}

// Decode reads a header's config and checks that this build's server
// accepts it.
func Decode(b []byte) (Core, error) {
	var c Core
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Core{}, fmt.Errorf("recorded config: %w (recorded by another build of the server?)", err)
	}
	if d.More() {
		return Core{}, fmt.Errorf("recorded config: data after the document")
	}
	if c.Server.Logger != nil || c.Server.Observer != nil {
		return Core{}, fmt.Errorf("recorded config: Logger and Observer are not configuration")
	}
	if err := c.Server.Check(); err != nil {
		return Core{}, fmt.Errorf("recorded config: this build's server refuses it: %w", err)
	}
	return c, nil
}

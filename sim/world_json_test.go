package sim

import (
	"encoding/json"
	"testing"
	"time"
)

// Goal: the world in JSON is an object tools can select on, with the same
// values as the Config, enumerations by name and durations readable.
// Method: marshal drawn worlds, decode them generically, compare field by
// field with the Config they came from.
func TestWorldJSON(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		cfg := Swarm(seed)
		data, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var w struct {
			Kernel struct {
				Edge, Batch  string
				FDMax        int `json:"fd_max"`
				RecvBufBytes int `json:"recv_buf_bytes"`
				Faults       map[string]float64
			}
			Server  map[string]any
			Backlog int
			Clients []struct {
				Kind    string
				Frames  int
				BodyMax int `json:"body_max"`
			}
			StepTime string `json:"step_time"`
			Shutdown bool
		}
		if err := json.Unmarshal(data, &w); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, data)
		}
		k := cfg.Kernel
		if w.Kernel.Edge != k.Edge.String() || w.Kernel.Batch != k.Batch.String() ||
			w.Kernel.FDMax != k.FDMax || w.Kernel.RecvBufBytes != k.RecvBufBytes ||
			w.Kernel.Faults["short_read"] != k.Faults.ShortRead || w.Kernel.Faults["m_file"] != k.Faults.MFile {
			t.Errorf("seed %d: kernel %+v from %+v", seed, w.Kernel, k)
		}
		s := cfg.Server
		if w.Server["framing"] != s.Framing.String() || w.Server["frame_bytes_max"] != float64(s.FrameBytesMax) ||
			w.Server["idle_timeout"] != s.IdleTimeout.String() {
			t.Errorf("seed %d: server %v from %+v", seed, w.Server, s)
		}
		for _, wiring := range []string{"logger", "observer"} {
			if _, ok := w.Server[wiring]; ok {
				t.Errorf("seed %d: server has %q", seed, wiring)
			}
		}
		if d, err := time.ParseDuration(w.StepTime); err != nil || d != cfg.StepTime {
			t.Errorf("seed %d: step_time %q from %v", seed, w.StepTime, cfg.StepTime)
		}
		if w.Backlog != cfg.Backlog || w.Shutdown != cfg.Shutdown || len(w.Clients) != len(cfg.Clients) {
			t.Fatalf("seed %d: %s", seed, data)
		}
		for i, c := range cfg.Clients {
			if w.Clients[i].Kind != c.Kind.String() || w.Clients[i].Frames != c.Frames || w.Clients[i].BodyMax != c.BodyMax {
				t.Errorf("seed %d: client %d %+v from %+v", seed, i, w.Clients[i], c)
			}
		}
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"FrameBytesMax": "frame_bytes_max", "FDMax": "fd_max", "MFile": "m_file",
		"Edge": "edge", "StrictNoInitialRead": "strict_no_initial_read", "ConnsMax": "conns_max",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

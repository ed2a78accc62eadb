package server

import (
	"strings"
	"testing"
)

// Goal: Check gives New's verdict on a Config without a kernel. Method:
// the defaults pass; one past the connection limit fails, naming the field.
func TestConfigCheck(t *testing.T) {
	if err := DefaultConfig().Check(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if err := (Config{}).Check(); err != nil {
		t.Errorf("zero Config (all defaults): %v", err)
	}
	c := DefaultConfig()
	c.ConnsMax = connsMaxLimit + 1
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "ConnsMax is 16777217") {
		t.Errorf("ConnsMax past the limit: %v", err)
	}
}

package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the units a size flag accepts, matched without regard to
// case: the IEC binary ones (what memory and socket buffers come in) and
// the SI decimal ones, so that "1MB" means what it says.
var sizeUnits = []struct {
	name  string
	bytes int64
}{
	{"B", 1},
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
}

// parseSize reads a size in bytes: an integer, optionally followed by a
// unit (64KiB, 1MiB, 10MB, 512B). A sign is allowed so that the range
// checks can say what was wrong with -1.
func parseSize(s string) (int, error) {
	n, err := parseSize64(s)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt || n < math.MinInt {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return int(n), nil
}

// parseSize64 is parseSize for sizes that need not fit an int (a file's).
func parseSize64(s string) (int64, error) {
	num := strings.TrimSpace(s)
	unit := strings.TrimLeft(num, "+-0123456789")
	num = strings.TrimSpace(num[:len(num)-len(unit)])
	mult := int64(1)
	if unit = strings.TrimSpace(unit); unit != "" {
		mult = 0
		for _, u := range sizeUnits {
			if strings.EqualFold(unit, u.name) {
				mult = u.bytes
			}
		}
		if mult == 0 {
			return 0, fmt.Errorf("unknown unit %q: use bytes, or B, KiB, MiB, GiB, TiB, kB, MB, GB or TB", unit)
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: want a whole number of bytes, optionally with a unit (64KiB, 1MiB)", s)
	}
	if n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}

// formatSize writes n in the largest binary unit that divides it, so that
// the defaults read as they were meant: 64KiB, 1MiB.
func formatSize(n int) string { return formatSize64(int64(n)) }

func formatSize64(n int64) string {
	for _, u := range []struct {
		name  string
		bytes int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.bytes == 0 {
			return strconv.FormatInt(n/u.bytes, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// sizeValue is a flag holding a size in bytes (see parseSize).
type sizeValue struct{ v *int }

func (s sizeValue) String() string {
	if s.v == nil {
		return "0"
	}
	return formatSize(*s.v)
}

func (s sizeValue) Set(str string) error {
	n, err := parseSize(str)
	if err != nil {
		return err
	}
	*s.v = n
	return nil
}

// size64Value is a flag holding a size in bytes that need not fit an int.
type size64Value struct{ v *int64 }

func (s size64Value) String() string {
	if s.v == nil {
		return "0"
	}
	return formatSize64(*s.v)
}

func (s size64Value) Set(str string) error {
	n, err := parseSize64(str)
	if err != nil {
		return err
	}
	*s.v = n
	return nil
}

package sim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
	"unicode"
)

// MarshalJSON writes the world as a structured object, so that tools can
// select on it (`jq '.failures[] | select(.world.server.framing == "mob")'`)
// instead of parsing the one-line String. Field names are the Go names in
// snake_case, in declaration order; enumerations (edge mode, batch shape,
// framing, client kind) are their names, durations are Go duration strings
// ("50ms"). Fields holding functions, interfaces or pointers (the server's
// Logger and Observer, which Run sets) are left out: they are wiring, not
// the world.
//
// It walks the fields by reflection, so a knob added to Config, to
// netfake.Config or to server.Config shows up here with no change.
func (c Config) MarshalJSON() ([]byte, error) {
	return appendWorld(nil, reflect.ValueOf(c))
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	stringerType = reflect.TypeFor[fmt.Stringer]()
)

func appendWorld(b []byte, v reflect.Value) ([]byte, error) {
	t := v.Type()
	switch {
	case t == durationType:
		return strconv.AppendQuote(b, time.Duration(v.Int()).String()), nil
	case t.Implements(stringerType) && isInteger(t.Kind()):
		return strconv.AppendQuote(b, v.Interface().(fmt.Stringer).String()), nil
	}
	switch t.Kind() {
	case reflect.Struct:
		b = append(b, '{')
		n := 0
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || skipKind(f.Type.Kind()) {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = strconv.AppendQuote(b, snakeCase(f.Name))
			b = append(b, ':')
			var err error
			if b, err = appendWorld(b, v.Field(i)); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case reflect.Slice, reflect.Array:
		b = append(b, '[')
		for i := range v.Len() {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendWorld(b, v.Index(i)); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	leaf, err := json.Marshal(v.Interface())
	if err != nil {
		return nil, fmt.Errorf("world: %s: %w", t, err)
	}
	return append(b, leaf...), nil
}

func isInteger(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uintptr
}

func skipKind(k reflect.Kind) bool {
	return k == reflect.Func || k == reflect.Interface || k == reflect.Pointer || k == reflect.Chan
}

// snakeCase turns a Go field name into a JSON key: FrameBytesMax becomes
// frame_bytes_max, FDMax fd_max, MFile m_file.
func snakeCase(name string) string {
	rs := []rune(name)
	out := make([]rune, 0, len(rs)+4)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && !unicode.IsUpper(rs[i-1])
			acronymEnd := i > 0 && i+1 < len(rs) && unicode.IsUpper(rs[i-1]) && unicode.IsLower(rs[i+1])
			if prevLower || acronymEnd {
				out = append(out, '_')
			}
			r = unicode.ToLower(r)
		}
		out = append(out, r)
	}
	return string(out)
}

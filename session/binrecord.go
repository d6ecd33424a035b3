package session

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
	"unicode/utf8"
)

// The binary body of a record (format 2): the session's fields in a fixed
// order, strings and counts as uvarints, and Data as a tagged tree of JSON
// values. Every step loads the session and saves it again, so the body is
// made and read on every step; encoding/json did that with reflection, a
// tenth of a step's CPU.
//
// It gives back exactly what a trip through encoding/json gives (the
// format-1 body, which stays readable): numbers as float64, times at their
// offset, no Data on a step record whose Data was empty. appendBinary
// reports false for anything it does not carry exactly so (a float32, NaN,
// invalid UTF-8, a type other than the JSON ones and Go's integers); the
// caller then writes the record as JSON, which also reports what JSON
// cannot hold.

// Tags of a value.
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagNumber // float64, 8 bytes big-endian
	tagString
	tagArray  // count, values
	tagObject // count, (key, value)…
)

// maxBinaryDepth bounds nesting, as encoding/json's decoder does (10000);
// deeper values take the JSON path, which refuses them the same way.
const maxBinaryDepth = 10000

// appendBinary appends s's body, or reports false (and b is garbage).
func appendBinary(b []byte, s *Session) ([]byte, bool) {
	var ok bool
	b, ok = appendStr(b, s.TID)
	if !ok {
		return b, false
	}
	if b, ok = appendStr(b, s.Protocol); !ok {
		return b, false
	}
	b = binary.AppendUvarint(b, s.Version)
	for _, t := range [...]time.Time{s.CreatedAt, s.UpdatedAt, s.ExpiresAt} {
		if b, ok = appendTime(b, t); !ok {
			return b, false
		}
	}
	if b, ok = appendStr(b, s.ClosedBy); !ok {
		return b, false
	}
	b = binary.AppendUvarint(b, s.Seq)
	if s.Data == nil {
		b = append(b, tagNull)
	} else if b, ok = appendObject(b, s.Data, 0); !ok {
		return b, false
	}
	b = binary.AppendUvarint(b, uint64(len(s.Steps)))
	for name, r := range s.Steps {
		if r == nil {
			return b, false // JSON would write null, and read no record
		}
		if b, ok = appendStr(b, name); !ok {
			return b, false
		}
		if b, ok = appendStepRecord(b, r); !ok {
			return b, false
		}
	}
	return b, true
}

func appendStepRecord(b []byte, r *StepRecord) ([]byte, bool) {
	var ok bool
	for _, s := range [...]string{r.Result, r.Code, r.Message} {
		if b, ok = appendStr(b, s); !ok {
			return b, false
		}
	}
	if len(r.Data) == 0 { // omitempty: JSON reads it back as nil
		b = append(b, tagNull)
	} else if b, ok = appendObject(b, r.Data, 0); !ok {
		return b, false
	}
	b = binary.AppendVarint(b, int64(r.Attempts))
	b = binary.AppendUvarint(b, r.LastSeq)
	b = binary.AppendUvarint(b, r.SuccessSeq)
	return appendTime(b, r.At)
}

// appendTime writes t as JSON keeps it: the instant and the offset of its
// zone at that instant. What RFC 3339 cannot say (years outside 0–9999,
// which JSON refuses, and offsets in seconds, which it rounds) takes the
// JSON path.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	_, off := t.Zone()
	if y := t.Year(); y < 0 || y > 9999 || off%60 != 0 {
		return b, false
	}
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	return binary.AppendVarint(b, int64(off)), true
}

func appendStr(b []byte, s string) ([]byte, bool) {
	if !utf8.ValidString(s) {
		return b, false // JSON would replace the invalid bytes
	}
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...), true
}

func appendNumber(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	b = append(b, tagNumber)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(f)), true
}

func appendObject(b []byte, m map[string]any, depth int) ([]byte, bool) {
	b = append(b, tagObject)
	b = binary.AppendUvarint(b, uint64(len(m)))
	var ok bool
	for k, v := range m {
		if b, ok = appendStr(b, k); !ok {
			return b, false
		}
		if b, ok = appendValue(b, v, depth+1); !ok {
			return b, false
		}
	}
	return b, true
}

func appendValue(b []byte, v any, depth int) ([]byte, bool) {
	if depth > maxBinaryDepth {
		return b, false
	}
	switch x := v.(type) {
	case nil:
		return append(b, tagNull), true
	case bool:
		if x {
			return append(b, tagTrue), true
		}
		return append(b, tagFalse), true
	case string:
		b = append(b, tagString)
		return appendStr(b, x)
	case float64:
		return appendNumber(b, x)
	case int:
		return appendNumber(b, float64(x))
	case int64:
		return appendNumber(b, float64(x))
	case int32:
		return appendNumber(b, float64(x))
	case uint64:
		return appendNumber(b, float64(x))
	case uint32:
		return appendNumber(b, float64(x))
	case map[string]any:
		if x == nil {
			return append(b, tagNull), true
		}
		return appendObject(b, x, depth)
	case []any:
		if x == nil {
			return append(b, tagNull), true
		}
		b = append(b, tagArray)
		b = binary.AppendUvarint(b, uint64(len(x)))
		var ok bool
		for _, e := range x {
			if b, ok = appendValue(b, e, depth+1); !ok {
				return b, false
			}
		}
		return b, true
	}
	return b, false // float32, json.Number, structs, other maps and slices: JSON's rules
}

var errBinary = errors.New("truncated or malformed binary body")

// binReader reads a binary body; the first error sticks and reads after
// it return zero values.
type binReader struct {
	p   []byte
	err error
}

func (r *binReader) fail() {
	if r.err == nil {
		r.err = errBinary
	}
	r.p = nil
}

func (r *binReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.p)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.p = r.p[n:]
	return v
}

func (r *binReader) varint() int64 {
	v, n := binary.Varint(r.p)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.p = r.p[n:]
	return v
}

// count reads a length that must fit in what is left, each element taking
// at least min bytes: a corrupt count cannot make a huge allocation.
func (r *binReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.p)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *binReader) str() string {
	n := r.count(1)
	if !utf8.Valid(r.p[:n]) {
		r.fail()
		return ""
	}
	s := string(r.p[:n]) // a copy: p is the database's memory
	r.p = r.p[n:]
	return s
}

func (r *binReader) byte() byte {
	if len(r.p) == 0 {
		r.fail()
		return 0
	}
	c := r.p[0]
	r.p = r.p[1:]
	return c
}

func (r *binReader) time() time.Time {
	sec, nsec, off := r.varint(), r.uvarint(), r.varint()
	if nsec >= 1e9 || off <= -86400 || off >= 86400 || off%60 != 0 {
		r.fail()
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	if off != 0 {
		t = t.In(time.FixedZone("", int(off)))
	}
	if y := t.Year(); y < 0 || y > 9999 {
		r.fail() // appendTime writes none of these
	}
	return t
}

func (r *binReader) value(depth int) any {
	if depth > maxBinaryDepth {
		r.fail()
		return nil
	}
	switch r.byte() {
	case tagNull:
		return nil
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagNumber:
		if len(r.p) < 8 {
			r.fail()
			return nil
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(r.p))
		r.p = r.p[8:]
		if math.IsNaN(f) || math.IsInf(f, 0) {
			r.fail()
		}
		return f
	case tagString:
		return r.str()
	case tagArray:
		n := r.count(1)
		a := make([]any, n)
		for i := range a {
			a[i] = r.value(depth + 1)
		}
		return a
	case tagObject:
		return r.object(depth)
	}
	r.fail()
	return nil
}

// object reads an object's count and members (its tag already read).
func (r *binReader) object(depth int) map[string]any {
	n := r.count(2)
	m := make(map[string]any, n)
	for range n {
		k := r.str()
		m[k] = r.value(depth + 1)
	}
	return m
}

// data reads a map that may be null.
func (r *binReader) data() map[string]any {
	switch r.byte() {
	case tagNull:
		return nil
	case tagObject:
		return r.object(0)
	}
	r.fail()
	return nil
}

// decodeBinary decodes a format-2 body.
func decodeBinary(p []byte) (*Session, error) {
	r := &binReader{p: p}
	s := &Session{TID: r.str(), Protocol: r.str(), Version: r.uvarint()}
	s.CreatedAt, s.UpdatedAt, s.ExpiresAt = r.time(), r.time(), r.time()
	s.ClosedBy, s.Seq = r.str(), r.uvarint()
	s.Data = r.data()
	if n := r.count(1); n > 0 {
		s.Steps = make(map[string]*StepRecord, n)
		for range n {
			name := r.str()
			rec := &StepRecord{Result: r.str(), Code: r.str(), Message: r.str(), Data: r.data()}
			rec.Attempts, rec.LastSeq, rec.SuccessSeq = int(r.varint()), r.uvarint(), r.uvarint()
			rec.At = r.time()
			s.Steps[name] = rec
		}
	} else {
		s.Steps = map[string]*StepRecord{}
	}
	if r.err == nil && len(r.p) != 0 {
		r.err = errors.New("trailing bytes after the binary body")
	}
	return s, r.err
}

package session

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// A stored record is a fixed header followed by the session. The header
// lets the committer check a version and find the old expiry key without
// decoding the body.
//
//	format (1) | flags (1) | version (8) | expires-at unix nanos (8) | body
//
// The body is JSON in format 1 and binary (binrecord.go) in format 2.
// Records are written in format 2 unless the session holds something only
// JSON's rules convert (then format 1); both are read.
const (
	formatJSON   = 1
	formatBinary = 2
	headerLen    = 18
	flagExpires  = 1 << 0
)

// header is the decoded fixed part of a record.
type header struct {
	format  byte
	version uint64
	expires bool  // false: the session never expires
	exp     int64 // ExpiresAt in unix nanos, clamped
}

func headerOf(s *Session, version uint64) header {
	h := header{format: formatBinary, version: version}
	if !s.ExpiresAt.IsZero() {
		h.expires, h.exp = true, unixNanos(s.ExpiresAt)
	}
	return h
}

func appendHeader(b []byte, h header) []byte {
	var flags byte
	if h.expires {
		flags |= flagExpires
	}
	b = append(b, h.format, flags)
	b = binary.BigEndian.AppendUint64(b, h.version)
	return binary.BigEndian.AppendUint64(b, uint64(h.exp))
}

func readHeader(v []byte) (header, error) {
	if len(v) < headerLen || v[0] != formatJSON && v[0] != formatBinary {
		return header{}, fmt.Errorf("session: corrupt record (%d bytes)", len(v))
	}
	return header{
		format:  v[0],
		version: binary.BigEndian.Uint64(v[2:]),
		expires: v[1]&flagExpires != 0,
		exp:     int64(binary.BigEndian.Uint64(v[10:])),
	}, nil
}

// decodeRecord decodes a whole record whose header is h.
func decodeRecord(v []byte, h header) (*Session, error) {
	var s *Session
	var err error
	if h.format == formatBinary {
		s, err = decodeBinary(v[headerLen:])
	} else {
		s = &Session{}
		err = json.Unmarshal(v[headerLen:], s)
	}
	if err != nil {
		return nil, fmt.Errorf("session: corrupt record: %w", err)
	}
	s.Version = h.version
	return s, nil
}

// appendExpiryKey appends the expiry index key of a session with header h:
// its expiry as 8 big-endian bytes (clamped at the epoch) then its TID, so a
// cursor meets sessions in expiry order. It returns dst unchanged when the
// session never expires.
func appendExpiryKey(dst []byte, h header, tid string) []byte {
	if !h.expires {
		return dst
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(max(h.exp, 0)))
	return append(dst, tid...)
}

// expiryKeyTime returns the expiry nanos an index key starts with.
func expiryKeyTime(k []byte) int64 {
	return int64(binary.BigEndian.Uint64(k))
}

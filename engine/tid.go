package engine

import (
	"crypto/rand"
	"encoding/binary"
	"regexp"
	"time"
)

// A TID is 26 characters of Crockford base32: 48 bits of milliseconds since
// the epoch (so TIDs sort by creation time) and 80 random bits from
// crypto/rand (so they cannot be guessed).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// TIDPattern matches a well-formed TID.
var TIDPattern = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

// NewTID returns a fresh TID for time t.
func NewTID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], uint64(t.UnixMilli())<<16)
	if _, err := rand.Read(b[6:16]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	// 128 bits → 26 base32 digits, the first carrying the top 3 bits.
	hi, lo := binary.BigEndian.Uint64(b[0:8]), binary.BigEndian.Uint64(b[8:16])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

package pgstore

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"strings"
	"unicode/utf8"
)

// sqlLock takes a transaction-scoped advisory lock: held until commit or
// rollback, on any connection of any instance using the database.
const sqlLock = `SELECT pg_advisory_xact_lock($1)`

// lockKey is the advisory lock key of a kind of thing in a schema: FNV-1a
// of the schema, the kind and the parts, joined by NULs (which none of
// them holds). Advisory locks span the whole database, hence the schema.
// Every instance sharing a schema must derive keys alike: this function is
// part of the store's format, like its tables.
func lockKey(schema, kind string, parts ...string) int64 {
	h := fnv.New64a()
	h.Write([]byte(schema))
	h.Write([]byte{0})
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return int64(h.Sum64())
}

// validKey reports whether every part can be stored as PostgreSQL text,
// which holds no NUL and only valid UTF-8. A read by a key that cannot be
// stored finds nothing, and needs no lock: the row can never exist.
func validKey(parts ...string) bool {
	for _, p := range parts {
		if strings.IndexByte(p, 0) >= 0 || !utf8.ValidString(p) {
			return false
		}
	}
	return true
}

// encode is v's JSON for a jsonb column: ErrInvalidValue if a string in it
// holds a NUL, which jsonb refuses (and the refusal would abort the whole
// transaction). json.Marshal writes a NUL as \u0000 and never writes a
// bare one.
func encode(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if hasNULEscape(data) {
		return nil, ErrInvalidValue
	}
	return data, nil
}

// hasNULEscape reports whether JSON text holds the escape \u0000, as
// opposed to an escaped backslash followed by "u0000".
func hasNULEscape(data []byte) bool {
	esc := []byte(`\u0000`)
	for i := 0; ; i++ {
		j := bytes.Index(data[i:], esc)
		if j < 0 {
			return false
		}
		i += j
		slashes := 0
		for k := i - 1; k >= 0 && data[k] == '\\'; k-- {
			slashes++
		}
		if slashes%2 == 0 {
			return true
		}
	}
}

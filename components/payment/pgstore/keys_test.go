package pgstore

import "testing"

func TestHasNULEscape(t *testing.T) {
	for _, tc := range []struct {
		json string
		want bool
	}{
		{`"a\u0000b"`, true},
		{`"\u0000"`, true},
		{`"a\\u0000b"`, false}, // a backslash, then u0000
		{`"a\\\u0000b"`, true}, // a backslash, then a NUL
		{`"\\\\u0000"`, false},
		{`"\u00000"`, true},
		{`"\u0001"`, false},
		{`"\\u0000\u0000"`, true},
		{``, false},
	} {
		if got := hasNULEscape([]byte(tc.json)); got != tc.want {
			t.Errorf("hasNULEscape(%s) = %v, want %v", tc.json, got, tc.want)
		}
	}
}

// Lock keys differ by schema, kind and the split between parts.
func TestLockKey_Apart(t *testing.T) {
	keys := map[int64]string{}
	for name, k := range map[string]int64{
		"base":        lockKey("public", "order", "CP1", "2x"),
		"schema":      lockKey("other", "order", "CP1", "2x"),
		"kind":        lockKey("public", "otps", "CP1", "2x"),
		"split":       lockKey("public", "order", "CP12", "x"),
		"concatenate": lockKey("public", "order", "CP12x"),
	} {
		if prev, ok := keys[k]; ok {
			t.Errorf("%s and %s share lock key %d", name, prev, k)
		}
		keys[k] = name
	}
}

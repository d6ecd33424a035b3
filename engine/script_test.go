package engine

import (
	"slices"
	"testing"

	"github.com/dop251/goja/parser"
)

// onlyFunctions tells a library that only declares functions from one that
// has anything else at its top level, which must run in every step.
func TestOnlyFunctions(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want []string
	}{
		{"function a() {}\n;function b() { var x = 1; return x; }", []string{"a", "b"}},
		{"'use strict';\nfunction a() {}", []string{"a"}},
		{"// nothing", []string{}},
		{"var n = 0;\nfunction a() { return ++n; }", nil},
		{"function a() {}\na();", nil},
		{"importScript('lib/x.js');\nfunction a() {}", nil},
		{"if (true) { function a() {} }", nil},
	} {
		prg, err := parser.ParseFile(nil, "lib.js", tt.src, 0)
		if err != nil {
			t.Fatal(err)
		}
		got := onlyFunctions(prg)
		if (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
			t.Errorf("%q: %q, want %q", tt.src, got, tt.want)
		}
	}
}

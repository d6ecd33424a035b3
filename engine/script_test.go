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

// The step masker hides every value held under a sensitive key, the
// longer of two overlapping ones whole, and phone numbers.
func TestMasker(t *testing.T) {
	p := &Protocol{Sensitive: map[string]bool{"WORD": true}}
	st := &Step{}
	m := newMasker(p, st,
		map[string]any{"CP_PWD": "12345678", "WORD": "5678", "NAME": "kim", "PIN": "abc"},
		map[string]any{"USER": map[string]any{"birth": "19900101", "list": []any{"x"}}, "OTP": "5678"})
	got := m.mask("pwd 12345678, word 5678, birth 19900101, name kim, short abc, phone 010-9876-4321")
	want := "pwd ****, word ****, birth ****, name kim, short abc, phone 010****4321"
	if got != want {
		t.Fatalf("mask:\n got %q\nwant %q", got, want)
	}
	if len(m.secrets) != 3 {
		t.Fatalf("secrets %q: want each once, longest first", m.secrets)
	}
}

package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunapay/tuna/engine"
)

// Each kind of protocol or script error is reported with its file and line.
func TestBuild_ReportsEachErrorWithFileAndLine(t *testing.T) {
	tests := []struct {
		dir  string
		want []string // "file:line: fragment", file relative to the case folder
	}{
		{"unknown_key", []string{`protocols/p.yaml:6: unknown key "aftr"`}},
		{"dangling", []string{`protocols/p.yaml:6: step "b": after names unknown step "nope"`}},
		{"missing_script", []string{`protocols/p.yaml:4: step a: script s/missing.js not found`}},
		{"duplicate", []string{`protocols/p.yaml:6: step "a" defined twice (first at line 3)`}},
		{"no_start", []string{`protocols/p.yaml:1: no start step`}},
		{"cycle", []string{`cycle in after: b → c → b`}},
		{"bad_values", []string{
			`protocols/p.yaml:2: "forever" is not a positive duration`,
			`protocols/p.yaml:7: session_save "sometimes" must be always, success or never`,
			`protocols/p.yaml:8: max_attempts must be at least 1`,
			`protocols/p.yaml:10: pattern "([a-z"`,
		}},
		{"yaml_syntax", []string{"protocols/p.yaml:2: did not find expected '-' indicator"}},
		{"escape", []string{`protocols/p.yaml:4: script "../outside.js": must be a clean path inside the scripts folder`}},
		{"js_syntax", []string{`scripts/s/a.js:3: syntax error at column 1: Unexpected token }`}},
		{"import_missing", []string{`scripts/s/a.js:1: importScript("lib/none.js"): no such script`}},
		{"import_cycle", []string{`scripts/lib/y.js:1: import cycle: lib/x.js → lib/y.js → lib/x.js`}},
		{"lib_let", []string{`scripts/lib/l.js:2: a library may not declare top-level let, const or class`}},
		{"empty_step", []string{`scripts/s/a.js: the step script is empty`}},
		{"name_mismatch", []string{`protocols/p.yaml:1: name "other" does not match the file name "p"`}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := filepath.Join("testdata", "bad", tt.dir)
			_, err := engine.Build(filepath.Join(dir, "scripts"), filepath.Join(dir, "protocols"))
			var le engine.LoadErrors
			if !errors.As(err, &le) {
				t.Fatalf("err = %v, want LoadErrors", err)
			}
			got := strings.ReplaceAll(filepath.ToSlash(err.Error()), filepath.ToSlash(dir)+"/", "")
			if strings.Contains(got, "not found") && tt.dir != "missing_script" {
				t.Errorf("a script that fails to compile is reported twice:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors:\n%s\nwant one containing %q", got, w)
				}
			}
		})
	}
}

func TestBuild_CollectsEveryError(t *testing.T) {
	dir := filepath.Join("testdata", "bad", "bad_values")
	_, err := engine.Build(filepath.Join(dir, "scripts"), filepath.Join(dir, "protocols"))
	var le engine.LoadErrors
	if !errors.As(err, &le) || len(le) < 4 {
		t.Fatalf("want every error at once, got %v", err)
	}
}

// A scripts folder may be a symlink (a deploy's current -> releases/N).
func TestBuild_SymlinkedScriptsFolder(t *testing.T) {
	abs, _ := filepath.Abs("testdata/flow/scripts")
	link := filepath.Join(t.TempDir(), "scripts")
	if err := os.Symlink(abs, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if _, err := engine.Build(link, "testdata/flow/protocols"); err != nil {
		t.Fatal(err)
	}
}

func TestReload_UnchangedKeepsVersion(t *testing.T) {
	h := newHarness(t, flowDir)
	if err := h.e.Reload(); err != nil {
		t.Fatal(err)
	}
	st := h.e.Status()
	if st.Snapshot.Version != 1 || !st.LastReload.OK || !st.Snapshot.BuiltAt.Equal(h.clock.Now()) {
		t.Fatalf("status %+v", st)
	}
}

func TestBuild_Good(t *testing.T) {
	snap, err := engine.Build("testdata/flow/scripts", "testdata/flow/protocols")
	if err != nil {
		t.Fatal(err)
	}
	p := snap.Protocols["flow"]
	if p == nil || p.Step("spin").Timeout.String() != "100ms" || p.Constants["LIMIT"] != float64(3) {
		t.Fatalf("protocol %+v", p)
	}
	if snap.Script("lib/greet.js") == nil || snap.Script("flow/begin.js").Step != true {
		t.Fatal("scripts not compiled")
	}
}

// FuzzParseProtocol: whatever the bytes, loading a protocol answers with a
// protocol or a LoadErrors, never a panic.
func FuzzParseProtocol(f *testing.F) {
	for _, seed := range []string{
		"name: p\nsteps:\n  - name: a\n    script: s/a.js\n    start: true\n",
		"name: p\nsession: {ttl: 1m}\nconstants: {A: [1, {b: c}]}\nsteps:\n  - {name: a, script: a.js, start: true, params: {X: {pattern: '^x$', max: 3}}}\n  - {name: b, script: a.js, after: [a], final: true}\n",
		"steps: [{name: a, after: [a]}]",
		"- 1\n- 2",
		"name: [",
		"",
		"steps:\n  - &a {name: a}\n  - *a\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := engine.ParseProtocol("p.yaml", src)
		if err == nil && p == nil {
			t.Fatal("nil protocol without an error")
		}
		var le engine.LoadErrors
		if err != nil && !errors.As(err, &le) {
			t.Fatalf("error of type %T", err)
		}
	})
}

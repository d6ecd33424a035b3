package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Snapshot is everything a step needs from the scripts and protocols
// folders, parsed, compiled and checked. It never changes once built: a
// reload builds a new one and swaps it in, and a step keeps the snapshot it
// started on.
type Snapshot struct {
	Version   int64     // set when the engine installs it: 1, 2, 3…
	Hash      string    // of every file's path and content
	BuiltAt   time.Time // when the engine installed it, by its clock
	Protocols map[string]*Protocol
	scripts   map[string]*Script
}

// Script returns a compiled script by its path under the scripts folder.
func (s *Snapshot) Script(path string) *Script { return s.scripts[path] }

// Build loads every protocol and compiles every script, and checks every
// reference between them. It returns all problems at once, as LoadErrors.
func Build(scriptsDir, protocolsDir string) (*Snapshot, error) {
	b := &builder{scriptsDir: scriptsDir, hash: sha256.New(), broken: map[string]bool{}}
	snap := &Snapshot{Protocols: map[string]*Protocol{}, scripts: map[string]*Script{}}
	b.loadProtocols(protocolsDir, snap)
	b.compileScripts(snap)
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	snap.Hash = hex.EncodeToString(b.hash.Sum(nil)[:6])
	return snap, nil
}

type builder struct {
	scriptsDir string
	errs       LoadErrors
	hash       hash.Hash
	stepFiles  map[string]bool
	broken     map[string]bool // scripts that exist but failed to compile
}

func (b *builder) fail(err error) {
	var le LoadErrors
	if errors.As(err, &le) {
		b.errs = append(b.errs, le...)
		return
	}
	b.errs = append(b.errs, &LoadError{File: "?", Msg: err.Error()})
}

func (b *builder) loadProtocols(dir string, snap *Snapshot) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.errs = append(b.errs, &LoadError{File: dir, Msg: err.Error()})
		return
	}
	b.stepFiles = map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		b.loadProtocol(filepath.Join(dir, name), snap)
	}
	if len(snap.Protocols) == 0 && len(b.errs) == 0 {
		b.errs = append(b.errs, &LoadError{File: dir, Msg: "no protocol files (*.yaml)"})
	}
}

func (b *builder) loadProtocol(file string, snap *Snapshot) {
	src, err := os.ReadFile(file)
	if err != nil {
		b.errs = append(b.errs, &LoadError{File: file, Msg: err.Error()})
		return
	}
	b.hashFile(file, src)
	p, err := ParseProtocol(file, src)
	if err != nil {
		b.fail(err)
		return
	}
	if prev := snap.Protocols[p.Name]; prev != nil {
		b.errs = append(b.errs, &LoadError{File: file, Line: 1, Msg: "protocol " + p.Name + " also defined in " + prev.File})
		return
	}
	p.File = file
	snap.Protocols[p.Name] = p
	for _, st := range p.Steps {
		b.stepFiles[st.Script] = true
	}
}

func (b *builder) hashFile(name string, src []byte) {
	b.hash.Write([]byte(name))
	b.hash.Write([]byte{0})
	b.hash.Write(src)
}

func (b *builder) display(rel string) string {
	return filepath.Join(b.scriptsDir, filepath.FromSlash(rel))
}

// compileScripts compiles every .js file under the scripts folder, so a
// library imported by a name computed at run time is compiled too, and a
// syntax error anywhere keeps the old snapshot.
func (b *builder) compileScripts(snap *Snapshot) {
	root := b.scriptsDir
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r // WalkDir does not descend into a symlinked root
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".js") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b.hashFile(rel, src)
		s, errs := compileScript(b.display(rel), rel, string(src), b.stepFiles[rel])
		b.errs = append(b.errs, errs...)
		if s != nil {
			snap.scripts[rel] = s
		} else {
			b.broken[rel] = true
		}
		return nil
	})
	if err != nil {
		b.errs = append(b.errs, &LoadError{File: b.scriptsDir, Msg: err.Error()})
		return
	}
	b.errs = append(b.errs, checkImports(snap.scripts, b.display)...)
	b.linkSteps(snap)
}

func (b *builder) linkSteps(snap *Snapshot) {
	for _, p := range sortedProtocols(snap.Protocols) {
		for _, st := range p.Steps {
			st.script = snap.scripts[st.Script]
			if st.script == nil && checkScriptPath(st.Script) == nil && !b.broken[st.Script] {
				b.errs = append(b.errs, &LoadError{File: p.File, Line: st.scriptLine,
					Msg: "step " + st.Name + ": script " + st.Script + " not found in " + b.scriptsDir})
			}
		}
	}
}

func sortedProtocols(m map[string]*Protocol) []*Protocol {
	out := make([]*Protocol, 0, len(m))
	for _, p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func sortedScripts(m map[string]*Script) []*Script {
	out := make([]*Script, 0, len(m))
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

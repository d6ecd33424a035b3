package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
	"github.com/dop251/goja/parser"
)

// Script is one compiled JavaScript file of a snapshot.
type Script struct {
	Path    string // relative to the scripts folder, with forward slashes
	Version string // short hash of the source: which version of the file ran
	Program *goja.Program
	Step    bool // compiled as a step (wrapped in a function) rather than a library
	imports []scriptImport
	// funcs names the functions of a library that declares nothing else:
	// running it again would only make the same functions again, so a
	// runtime makes them once (see vm.importScript). Nil for any other file.
	funcs []string
}

type scriptImport struct {
	path string
	line int
}

// Step scripts are wrapped in a function so that their top-level let, const
// and var stay local to one run: a pooled runtime runs the same file many
// times. A step's program evaluates to that function; a runtime makes it
// once and calls it for each step (see vm.exec). The wrapper keeps line
// numbers; only columns on line 1 move.
const (
	stepPrefix = "(function(){"
	stepSuffix = "\n})"
)

func checkScriptPath(p string) error {
	switch {
	case p == "" || path.IsAbs(p) || strings.Contains(p, `\`):
		return errors.New("must be a relative path under the scripts folder")
	case path.Clean(p) != p || strings.HasPrefix(p, "../") || p == "..":
		return errors.New("must be a clean path inside the scripts folder (no .., no ./)")
	case !strings.HasSuffix(p, ".js"):
		return errors.New("must name a .js file")
	}
	return nil
}

// compileScript parses and compiles one file. display names it in errors
// (the path a user recognises); rel is its path under the scripts folder.
func compileScript(display, rel, src string, step bool) (*Script, LoadErrors) {
	sum := sha256.Sum256([]byte(src))
	s := &Script{Path: rel, Version: hex.EncodeToString(sum[:4]), Step: step}
	if step && strings.TrimSpace(src) == "" {
		return nil, LoadErrors{{File: display, Msg: "the step script is empty (half-written?)"}}
	}
	code := src
	if step {
		code = stepPrefix + src + stepSuffix
	}
	prg, err := parser.ParseFile(nil, rel, code, 0)
	if err != nil {
		return nil, syntaxErrors(display, err, step)
	}
	top := prg
	if step {
		top, _ = parser.ParseFile(nil, rel, src, 0) // for imports; a top-level return makes it fail
	}
	var errs LoadErrors
	if top != nil {
		s.imports, errs = staticImports(display, top, step)
		if !step {
			s.funcs = onlyFunctions(top)
		}
	}
	s.Program, err = goja.CompileAST(prg, false)
	if err != nil {
		return nil, append(errs, syntaxErrors(display, err, step)...)
	}
	return s, errs
}

func syntaxErrors(display string, err error, step bool) LoadErrors {
	var list parser.ErrorList
	if errors.As(err, &list) {
		out := make(LoadErrors, len(list))
		for i, e := range list {
			col := e.Position.Column
			if step && e.Position.Line == 1 {
				col -= len(stepPrefix)
			}
			out[i] = &LoadError{File: display, Line: e.Position.Line, Msg: fmt.Sprintf("syntax error at column %d: %s", col, e.Message)}
		}
		return out
	}
	var ce *goja.CompilerSyntaxError
	if errors.As(err, &ce) && ce.File != nil {
		return LoadErrors{{File: display, Line: ce.File.Position(ce.Offset).Line, Msg: "syntax error: " + ce.Message}}
	}
	return LoadErrors{{File: display, Msg: err.Error()}}
}

// staticImports finds importScript("literal") calls at the top level of a
// file, so that missing files and cycles are load errors. A library may not
// declare top-level let, const or class: it runs again in every step that
// imports it, and those would clash with the previous run's.
func staticImports(display string, prg *ast.Program, step bool) ([]scriptImport, LoadErrors) {
	var imports []scriptImport
	var errs LoadErrors
	pos := func(idx file.Idx) int { return prg.File.Position(int(idx) - prg.File.Base()).Line }
	for _, stmt := range prg.Body {
		switch s := stmt.(type) {
		case *ast.ExpressionStatement:
			if p, ok := importLiteral(s.Expression); ok {
				imports = append(imports, scriptImport{path: p, line: pos(s.Idx0())})
			}
		case *ast.LexicalDeclaration, *ast.ClassDeclaration:
			if !step {
				errs = append(errs, &LoadError{File: display, Line: pos(s.Idx0()),
					Msg: "a library may not declare top-level let, const or class (use var or function)"})
			}
		}
	}
	return imports, errs
}

// onlyFunctions returns the names of a file's top-level function
// declarations if it has no other statement (a directive such as
// "use strict" aside), and nil otherwise.
func onlyFunctions(prg *ast.Program) []string {
	names := []string{}
	for _, stmt := range prg.Body {
		switch s := stmt.(type) {
		case *ast.FunctionDeclaration:
			names = append(names, s.Function.Name.Name.String())
		case *ast.EmptyStatement:
		case *ast.ExpressionStatement:
			if _, directive := s.Expression.(*ast.StringLiteral); !directive {
				return nil
			}
		default:
			return nil
		}
	}
	return names
}

func importLiteral(e ast.Expression) (string, bool) {
	call, ok := e.(*ast.CallExpression)
	if !ok || len(call.ArgumentList) != 1 {
		return "", false
	}
	id, ok := call.Callee.(*ast.Identifier)
	if !ok || id.Name != "importScript" {
		return "", false
	}
	lit, ok := call.ArgumentList[0].(*ast.StringLiteral)
	if !ok {
		return "", false
	}
	return lit.Value.String(), true
}

// checkImports reports imports of unknown or step files and import cycles.
func checkImports(scripts map[string]*Script, display func(string) string) LoadErrors {
	var errs LoadErrors
	for _, s := range sortedScripts(scripts) {
		for _, im := range s.imports {
			if err := checkScriptPath(im.path); err != nil {
				errs = append(errs, &LoadError{File: display(s.Path), Line: im.line, Msg: fmt.Sprintf("importScript(%q): %v", im.path, err)})
				continue
			}
			target := scripts[im.path]
			switch {
			case target == nil:
				errs = append(errs, &LoadError{File: display(s.Path), Line: im.line, Msg: fmt.Sprintf("importScript(%q): no such script", im.path)})
			case target.Step:
				errs = append(errs, &LoadError{File: display(s.Path), Line: im.line, Msg: fmt.Sprintf("importScript(%q): that file is a step script, not a library", im.path)})
			}
		}
	}
	return append(errs, importCycles(scripts, display)...)
}

func importCycles(scripts map[string]*Script, display func(string) string) LoadErrors {
	var errs LoadErrors
	var paths []string
	for _, s := range sortedScripts(scripts) {
		paths = append(paths, s.Path)
	}
	next := func(path string) ([]scriptImport, bool) {
		s := scripts[path]
		if s == nil {
			return nil, false
		}
		return s.imports, true
	}
	findCycles(paths, next, func(im scriptImport) string { return im.path }, func(chain []string, im scriptImport) {
		errs = append(errs, &LoadError{File: display(chain[len(chain)-1]), Line: im.line,
			Msg: "import cycle: " + strings.Join(append(chain, im.path), " → ")})
	})
	return errs
}

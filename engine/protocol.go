package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tunapay/tuna/components"
)

// SaveRule says when a step's persistMap becomes the session data.
type SaveRule string

// The session_save rules.
const (
	SaveAlways  SaveRule = "always"  // whatever the outcome (TUNA's SESSION SAVE = 1)
	SaveSuccess SaveRule = "success" // only when the step succeeds (the default)
	SaveNever   SaveRule = "never"   // the step's record only
)

// Defaults for what a protocol file leaves out.
const (
	DefaultTTL     = 10 * time.Minute
	DefaultTimeout = 3 * time.Second
)

// Protocol is one protocol file, checked: its steps, flow and rules.
type Protocol struct {
	Name      string
	File      string // as given to the loader, for messages
	TTL       time.Duration
	Constants map[string]any
	Sensitive map[string]bool // keys masked in logs and the admin view
	Steps     []*Step
	byName    map[string]*Step
}

// Step returns the named step, or nil.
func (p *Protocol) Step(name string) *Step { return p.byName[name] }

// Step is one protocol step.
type Step struct {
	Name        string
	Script      string // path under the scripts folder
	Start       bool
	After       []string
	SessionSave SaveRule
	MaxAttempts int // 0: unlimited
	Timeout     time.Duration
	Final       bool
	Params      []*Param
	Line        int // where the step starts in its file
	scriptLine  int
	script      *Script
	metrics     atomic.Pointer[stepMetrics] // its metrics' children, found on first use
}

// Param is a declared request parameter of a step.
type Param struct {
	Name      string
	Required  bool
	Pattern   *regexp.Regexp
	Max       int // maximum length in characters; 0: the server's limit only
	Sensitive bool
}

// LoadError is one problem in a protocol or script file.
type LoadError struct {
	File string
	Line int
	Msg  string
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// LoadErrors is every problem found while building a snapshot.
type LoadErrors []*LoadError

func (es LoadErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

var (
	nameRE      = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	paramNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	topKeys     = keySet("name", "description", "session", "constants", "sensitive", "steps")
	sessionKeys = keySet("ttl")
	stepKeys    = keySet("name", "description", "script", "start", "after", "session_save",
		"max_attempts", "timeout", "final", "params")
	paramKeys = keySet("required", "pattern", "max", "sensitive", "description")
)

func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// protocolParser collects every error of one file instead of stopping at the first.
type protocolParser struct {
	file string
	errs LoadErrors
}

func (pp *protocolParser) errorf(line int, format string, args ...any) {
	pp.errs = append(pp.errs, &LoadError{File: pp.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// LoadProtocol reads and checks one protocol file. Script references are
// checked later, against the scripts folder, by Build.
func LoadProtocol(path string) (*Protocol, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, LoadErrors{{File: path, Msg: err.Error()}}
	}
	return ParseProtocol(path, src)
}

// ParseProtocol checks a protocol file's contents; file names it in errors.
func ParseProtocol(file string, src []byte) (*Protocol, error) {
	pp := &protocolParser{file: file}
	p := pp.parse(src)
	if len(pp.errs) > 0 {
		return nil, pp.errs
	}
	return p, nil
}

func (pp *protocolParser) parse(src []byte) *Protocol {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		pp.errorf(yamlErrLine(err), "%s", yamlErrMsg(err))
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		pp.errorf(1, "a protocol file must be a mapping with name and steps")
		return nil
	}
	p := &Protocol{TTL: DefaultTTL, Sensitive: map[string]bool{}, byName: map[string]*Step{}}
	root := doc.Content[0]
	pp.eachKey(root, topKeys, func(k string, v *yaml.Node) { pp.topField(p, k, v) })
	pp.checkName(p, root)
	pp.checkFlow(p, root)
	return p
}

func (pp *protocolParser) topField(p *Protocol, k string, v *yaml.Node) {
	switch k {
	case "name":
		pp.decode(v, &p.Name)
	case "session":
		pp.eachKey(v, sessionKeys, func(_ string, tv *yaml.Node) { p.TTL = pp.duration(tv) })
	case "constants":
		var c map[string]any
		if pp.decode(v, &c) {
			p.Constants = pp.jsonValues(v, c)
		}
	case "sensitive":
		var keys []string
		pp.decode(v, &keys)
		for _, key := range keys {
			p.Sensitive[key] = true
		}
	case "steps":
		pp.steps(p, v)
	}
}

func (pp *protocolParser) checkName(p *Protocol, root *yaml.Node) {
	base := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(pp.file), ".yaml"), ".yml")
	switch {
	case p.Name == "":
		p.Name = base
	case p.Name != base:
		pp.errorf(root.Line, "name %q does not match the file name %q", p.Name, base)
	}
	if !nameRE.MatchString(p.Name) {
		pp.errorf(root.Line, "protocol name %q must match %s", p.Name, nameRE)
	}
}

// eachKey walks a mapping, reporting unknown and repeated keys.
func (pp *protocolParser) eachKey(n *yaml.Node, allowed map[string]bool, f func(string, *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		pp.errorf(n.Line, "expected a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !allowed[k.Value]:
			pp.errorf(k.Line, "unknown key %q (allowed: %s)", k.Value, strings.Join(sortedKeys(allowed), ", "))
		case seen[k.Value]:
			pp.errorf(k.Line, "key %q repeated", k.Value)
		default:
			seen[k.Value] = true
			f(k.Value, v)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (pp *protocolParser) decode(n *yaml.Node, v any) bool {
	if err := n.Decode(v); err != nil {
		pp.errorf(n.Line, "%s", yamlErrMsg(err))
		return false
	}
	return true
}

func (pp *protocolParser) duration(n *yaml.Node) time.Duration {
	var s string
	if !pp.decode(n, &s) {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		pp.errorf(n.Line, "%q is not a positive duration (like 500ms, 5s, 10m)", s)
		return 0
	}
	return d
}

func (pp *protocolParser) jsonValues(n *yaml.Node, c map[string]any) map[string]any {
	v, err := components.Normalize(c)
	if err != nil {
		pp.errorf(n.Line, "constants: %v", err)
		return nil
	}
	m, _ := v.(map[string]any)
	return m
}

func (pp *protocolParser) steps(p *Protocol, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		pp.errorf(n.Line, "steps must be a list")
		return
	}
	for _, sn := range n.Content {
		st := pp.step(sn)
		if st == nil {
			continue
		}
		if p.byName[st.Name] != nil {
			pp.errorf(st.Line, "step %q defined twice (first at line %d)", st.Name, p.byName[st.Name].Line)
			continue
		}
		p.byName[st.Name] = st
		p.Steps = append(p.Steps, st)
	}
}

func (pp *protocolParser) step(n *yaml.Node) *Step {
	st := &Step{Line: n.Line, SessionSave: SaveSuccess, Timeout: DefaultTimeout}
	pp.eachKey(n, stepKeys, func(k string, v *yaml.Node) { pp.stepField(st, k, v) })
	if n.Kind != yaml.MappingNode {
		return nil
	}
	if st.Name == "" {
		pp.errorf(n.Line, "step has no name")
		return nil
	}
	if !nameRE.MatchString(st.Name) {
		pp.errorf(n.Line, "step name %q must match %s", st.Name, nameRE)
	}
	if st.Script == "" {
		pp.errorf(n.Line, "step %q has no script", st.Name)
	}
	if st.Start && len(st.After) > 0 {
		pp.errorf(n.Line, "step %q is a start step and cannot have after", st.Name)
	}
	return st
}

func (pp *protocolParser) stepField(st *Step, k string, v *yaml.Node) {
	switch k {
	case "name":
		pp.decode(v, &st.Name)
	case "script":
		st.scriptLine = v.Line
		if pp.decode(v, &st.Script) {
			if err := checkScriptPath(st.Script); err != nil {
				pp.errorf(v.Line, "script %q: %v", st.Script, err)
			}
		}
	case "start":
		pp.decode(v, &st.Start)
	case "final":
		pp.decode(v, &st.Final)
	case "after":
		pp.decode(v, &st.After)
	case "session_save":
		var s string
		pp.decode(v, &s)
		st.SessionSave = SaveRule(s)
		if st.SessionSave != SaveAlways && st.SessionSave != SaveSuccess && st.SessionSave != SaveNever {
			pp.errorf(v.Line, "session_save %q must be always, success or never", s)
		}
	case "max_attempts":
		if pp.decode(v, &st.MaxAttempts) && st.MaxAttempts < 1 {
			pp.errorf(v.Line, "max_attempts must be at least 1")
		}
	case "timeout":
		st.Timeout = pp.duration(v)
	case "description":
	case "params":
		pp.params(st, v)
	}
}

func (pp *protocolParser) params(st *Step, n *yaml.Node) {
	if n.Kind != yaml.MappingNode {
		pp.errorf(n.Line, "params must be a mapping of parameter names")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !paramNameRE.MatchString(k.Value) {
			pp.errorf(k.Line, "parameter name %q must match %s", k.Value, paramNameRE)
		}
		prm := &Param{Name: k.Value}
		pp.eachKey(v, paramKeys, func(pk string, pv *yaml.Node) { pp.paramField(prm, pk, pv) })
		st.Params = append(st.Params, prm)
	}
}

func (pp *protocolParser) paramField(prm *Param, k string, v *yaml.Node) {
	switch k {
	case "required":
		pp.decode(v, &prm.Required)
	case "sensitive":
		pp.decode(v, &prm.Sensitive)
	case "max":
		if pp.decode(v, &prm.Max) && prm.Max < 1 {
			pp.errorf(v.Line, "max must be at least 1")
		}
	case "pattern":
		var s string
		if !pp.decode(v, &s) {
			return
		}
		re, err := regexp.Compile(s)
		if err != nil {
			pp.errorf(v.Line, "pattern %q: %v", s, err)
			return
		}
		prm.Pattern = re
	}
}

// checkFlow finds a missing start step, dangling after names and cycles.
func (pp *protocolParser) checkFlow(p *Protocol, root *yaml.Node) {
	starts := 0
	for _, st := range p.Steps {
		if st.Start {
			starts++
		}
		for _, a := range st.After {
			if p.byName[a] == nil {
				pp.errorf(st.Line, "step %q: after names unknown step %q", st.Name, a)
			}
		}
	}
	if starts == 0 && len(p.Steps) > 0 {
		pp.errorf(root.Line, "no start step (mark the step that begins a transaction with start: true)")
	}
	if len(p.Steps) == 0 && len(pp.errs) == 0 {
		pp.errorf(root.Line, "no steps")
	}
	pp.checkCycles(p)
}

func (pp *protocolParser) checkCycles(p *Protocol) {
	names := make([]string, len(p.Steps))
	for i, st := range p.Steps {
		names[i] = st.Name
	}
	next := func(n string) ([]string, bool) {
		st := p.byName[n]
		if st == nil {
			return nil, false
		}
		return st.After, true
	}
	findCycles(names, next, func(a string) string { return a }, func(chain []string, a string) {
		pp.errorf(p.byName[chain[len(chain)-1]].Line, "cycle in after: %s → %s", strings.Join(chain, " → "), a)
	})
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

var yamlPrefixRE = regexp.MustCompile(`^(yaml: )?(unmarshal errors:\s*)?(line \d+: )?`)

func yamlErrMsg(err error) string {
	return yamlPrefixRE.ReplaceAllString(err.Error(), "")
}

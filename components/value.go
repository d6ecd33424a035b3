package components

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"

	"github.com/dop251/goja"
)

// MaxDepth bounds how deeply nested a value crossing between JS and Go may be.
const MaxDepth = 32

// A JSONValuer is a Go value a script sees as an object (a goja
// DynamicObject) that stands for a JSON value, such as the engine's maps.
// Export uses JSONValue instead of walking its properties.
type JSONValuer interface {
	JSONValue() any
}

// Export converts a JS value to a Go JSON value: nil, bool, float64,
// string, []any or map[string]any. Anything else (undefined, a function, a
// Date, NaN, a symbol, nesting past MaxDepth) is an error that says where.
func Export(v goja.Value) (any, error) {
	root := rootPath("value")
	return export(v, &root, 0)
}

// valuePath is where a value sits in what crosses between JS and Go. It is
// rendered only for an error message, so a value that converts builds no
// path strings.
type valuePath struct {
	parent *valuePath
	key    string // a property, or the root's name
	index  int    // an array index, when not -1
}

func rootPath(name string) valuePath { return valuePath{key: name, index: -1} }

func (p *valuePath) child(k string) valuePath { return valuePath{parent: p, key: k, index: -1} }

func (p *valuePath) elem(i int) valuePath { return valuePath{parent: p, index: i} }

func (p *valuePath) String() string {
	switch {
	case p.parent == nil:
		return p.key
	case p.index >= 0:
		return p.parent.String() + "[" + strconv.Itoa(p.index) + "]"
	default:
		return p.parent.String() + "." + p.key
	}
}

func export(v goja.Value, path *valuePath, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%s is nested more than %d levels", path.String(), MaxDepth)
	}
	if v == nil || goja.IsUndefined(v) {
		return nil, notJSON(path, "undefined")
	}
	if goja.IsNull(v) {
		return nil, nil
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		return exportPrimitive(v, path)
	}
	switch obj.ClassName() {
	case "Array":
		return exportArray(obj, path, depth)
	case "Object":
		return exportObject(obj, path, depth)
	case "Function":
		return nil, notJSON(path, "a function")
	case "Date":
		return nil, notJSON(path, "a Date (store date.toISOString())")
	default:
		return nil, notJSON(path, "a "+obj.ClassName())
	}
}

func notJSON(path *valuePath, what string) error {
	return fmt.Errorf("%s is %s; only JSON values (string, number, boolean, null, array, plain object) are allowed", path.String(), what)
}

func exportPrimitive(v goja.Value, path *valuePath) (any, error) {
	if s, ok := String(v); ok {
		return s, nil
	}
	switch x := v.Export().(type) {
	case bool:
		return x, nil
	case int64:
		return float64(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, notJSON(path, strconv.FormatFloat(x, 'g', -1, 64))
		}
		return x, nil
	default:
		return nil, notJSON(path, fmt.Sprintf("a %T", x))
	}
}

// String is v's text if v is a JS string, as v.Export() would give it,
// without boxing it in an interface (an allocation per string crossing to
// Go).
func String(v goja.Value) (string, bool) {
	if s, ok := v.(goja.String); ok {
		return s.String(), true
	}
	return "", false
}

func exportArray(obj *goja.Object, path *valuePath, depth int) (any, error) {
	n := int(obj.Get("length").ToInteger())
	out := make([]any, n)
	for i := 0; i < n; i++ {
		p := path.elem(i)
		e, err := export(obj.Get(strconv.Itoa(i)), &p, depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

var typeMap = reflect.TypeOf(map[string]any(nil))

func exportObject(obj *goja.Object, path *valuePath, depth int) (any, error) {
	if obj.ExportType() != typeMap {
		switch x := obj.Export().(type) {
		case JSONValuer:
			return x.JSONValue(), nil
		default:
			return normalize(x, path)
		}
	}
	keys := obj.Keys()
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		p := path.child(k)
		e, err := export(obj.Get(k), &p, depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = e
	}
	return out, nil
}

// normalize turns a Go value into JSON values through encoding/json, so
// struct tags apply. It is for component results and wrapped Go values.
func normalize(v any, path *valuePath) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			p := path.child(k)
			n, err := normalize(e, &p)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			p := path.elem(i)
			n, err := normalize(e, &p)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.String(), err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path.String(), err)
	}
	return out, nil
}

// Value converts a Go JSON value to JS: maps become plain objects (keys in
// sorted order, so scripts see a stable order), slices become arrays. Other
// Go values are converted through encoding/json first.
func Value(rt *goja.Runtime, v any) goja.Value {
	switch x := v.(type) {
	case nil:
		return goja.Null()
	case string:
		return rt.ToValue(x)
	case bool:
		return rt.ToValue(x)
	case float64:
		return rt.ToValue(x)
	case int:
		return rt.ToValue(x)
	case int64:
		return rt.ToValue(x)
	case map[string]any:
		return objectValue(rt, x)
	case []any:
		vals := make([]any, len(x))
		for i, e := range x {
			vals[i] = Value(rt, e)
		}
		return rt.NewArray(vals...)
	}
	if js, ok := toJS(rt, reflect.ValueOf(v), 0); ok {
		return js
	}
	root := rootPath("value")
	n, err := normalize(v, &root)
	if err != nil {
		panic(rt.NewGoError(err))
	}
	return Value(rt, n)
}

func objectValue(rt *goja.Runtime, m map[string]any) goja.Value {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	o := rt.NewObject()
	for _, k := range keys {
		_ = o.Set(k, Value(rt, m[k]))
	}
	return o
}

// Normalize converts a Go value (a struct, a map, YAML-decoded data) to JSON
// values as Export returns them.
func Normalize(v any) (any, error) {
	root := rootPath("value")
	return normalize(v, &root)
}

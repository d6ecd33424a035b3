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
	return export(v, "value", 0)
}

func export(v goja.Value, path string, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%s is nested more than %d levels", path, MaxDepth)
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

func notJSON(path, what string) error {
	return fmt.Errorf("%s is %s; only JSON values (string, number, boolean, null, array, plain object) are allowed", path, what)
}

func exportPrimitive(v goja.Value, path string) (any, error) {
	switch x := v.Export().(type) {
	case string, bool:
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

func exportArray(obj *goja.Object, path string, depth int) (any, error) {
	n := int(obj.Get("length").ToInteger())
	out := make([]any, n)
	for i := 0; i < n; i++ {
		e, err := export(obj.Get(strconv.Itoa(i)), path+"["+strconv.Itoa(i)+"]", depth+1)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

var typeMap = reflect.TypeOf(map[string]any(nil))

func exportObject(obj *goja.Object, path string, depth int) (any, error) {
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
		e, err := export(obj.Get(k), path+"."+k, depth+1)
		if err != nil {
			return nil, err
		}
		out[k] = e
	}
	return out, nil
}

// normalize turns a Go value into JSON values through encoding/json, so
// struct tags apply. It is for component results and wrapped Go values.
func normalize(v any, path string) (any, error) {
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
			n, err := normalize(e, path+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
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
	n, err := normalize(v, "value")
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
func Normalize(v any) (any, error) { return normalize(v, "value") }

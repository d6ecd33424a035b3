package engine

import (
	"encoding/json"
	"sort"

	"github.com/dop251/goja"

	"github.com/tunapay/tuna/components"
)

// jsMap is reqMap, sessionMap, persistMap or resMap as a script sees it: the
// subset of Java's Map the original scripts use, over a Go map of JSON
// values. Its method functions are made once per runtime; data is swapped
// for each step.
type jsMap struct {
	name     string
	rt       *goja.Runtime
	readOnly bool
	data     map[string]any
	// params, when set, is reqMap's data as the request gave it, read
	// as is: a step that only gets parameters never converts them (a map
	// and a boxed string per parameter); values converts them for the
	// methods that need JSON values.
	params  map[string]string
	methods map[string]goja.Value
}

var _ goja.DynamicObject = (*jsMap)(nil)
var _ components.JSONValuer = (*jsMap)(nil)

func newJSMap(rt *goja.Runtime, name string, readOnly bool) *jsMap {
	m := &jsMap{name: name, rt: rt, readOnly: readOnly}
	m.methods = map[string]goja.Value{
		"get":         rt.ToValue(m.get),
		"put":         rt.ToValue(m.put),
		"putAll":      rt.ToValue(m.putAll),
		"containsKey": rt.ToValue(m.containsKey),
		"remove":      rt.ToValue(m.remove),
		"keySet":      rt.ToValue(m.keySet),
		"size":        rt.ToValue(m.size),
		"isEmpty":     rt.ToValue(m.isEmpty),
		"toJSON":      rt.ToValue(m.toJSON),
		"toString":    rt.ToValue(m.toString),
	}
	return m
}

func (m *jsMap) Get(key string) goja.Value   { return m.methods[key] }
func (m *jsMap) Set(string, goja.Value) bool { return false }
func (m *jsMap) Has(key string) bool         { return m.methods[key] != nil }
func (m *jsMap) Delete(string) bool          { return false }
func (m *jsMap) Keys() []string              { return nil }
func (m *jsMap) JSONValue() any              { return m.values() }

// values is the map's data as JSON values: for request parameters, a new
// map each time, so that what a script keeps or passes on is its own.
func (m *jsMap) values() map[string]any {
	if m.params == nil {
		return m.data
	}
	data := make(map[string]any, len(m.params))
	for k, v := range m.params {
		data[k] = v
	}
	return data
}

// set gives the map the data of a step: JSON values, or request
// parameters.
func (m *jsMap) set(data map[string]any, params map[string]string) {
	m.data, m.params = data, params
}

func (m *jsMap) key(fc goja.FunctionCall, method string) string {
	k, ok := components.String(fc.Argument(0))
	if !ok {
		panic(m.rt.NewTypeError("%s.%s: the key must be a string", m.name, method))
	}
	return k
}

func (m *jsMap) writable(method string) {
	if m.readOnly {
		panic(m.rt.NewTypeError("%s is read-only (%s); write what the next step needs to persistMap", m.name, method))
	}
}

func (m *jsMap) value(v any, ok bool) goja.Value {
	if !ok {
		return goja.Null()
	}
	return components.Value(m.rt, v)
}

func (m *jsMap) get(fc goja.FunctionCall) goja.Value {
	k := m.key(fc, "get")
	if m.params != nil {
		s, ok := m.params[k]
		if !ok {
			return goja.Null()
		}
		return m.rt.ToValue(s)
	}
	v, ok := m.data[k]
	return m.value(v, ok)
}

func (m *jsMap) put(fc goja.FunctionCall) goja.Value {
	m.writable("put")
	k := m.key(fc, "put")
	v, err := components.Export(fc.Argument(1))
	if err != nil {
		panic(m.rt.NewTypeError("%s.put(%q): %s", m.name, k, err))
	}
	old, had := m.data[k]
	m.data[k] = v
	return m.value(old, had)
}

func (m *jsMap) putAll(fc goja.FunctionCall) goja.Value {
	m.writable("putAll")
	v, err := components.Export(fc.Argument(0))
	src, ok := v.(map[string]any)
	if err != nil || !ok {
		panic(m.rt.NewTypeError("%s.putAll: takes another map or a plain object", m.name))
	}
	for k, e := range src {
		m.data[k] = e
	}
	return goja.Undefined()
}

func (m *jsMap) containsKey(fc goja.FunctionCall) goja.Value {
	k := m.key(fc, "containsKey")
	if m.params != nil {
		_, ok := m.params[k]
		return m.rt.ToValue(ok)
	}
	_, ok := m.data[k]
	return m.rt.ToValue(ok)
}

func (m *jsMap) remove(fc goja.FunctionCall) goja.Value {
	m.writable("remove")
	k := m.key(fc, "remove")
	old, had := m.data[k]
	delete(m.data, k)
	return m.value(old, had)
}

func (m *jsMap) keySet(goja.FunctionCall) goja.Value {
	data := m.values()
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]any, len(keys))
	for i, k := range keys {
		vals[i] = k
	}
	return m.rt.NewArray(vals...)
}

func (m *jsMap) size(goja.FunctionCall) goja.Value    { return m.rt.ToValue(len(m.values())) }
func (m *jsMap) isEmpty(goja.FunctionCall) goja.Value { return m.rt.ToValue(len(m.values()) == 0) }
func (m *jsMap) toJSON(goja.FunctionCall) goja.Value  { return components.Value(m.rt, m.values()) }

func (m *jsMap) toString(goja.FunctionCall) goja.Value {
	b, _ := json.Marshal(m.values())
	return m.rt.ToValue(string(b))
}

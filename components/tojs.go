package components

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// toJS converts a Go value to what a script sees, as Value would after a
// trip through encoding/json (struct tags, omitempty, embedded structs,
// numbers as float64, sorted keys), without encoding anything. ok is false
// for what it does not handle exactly as encoding/json does (custom
// marshalers other than time.Time, []byte, non-string map keys, the
// "string" and "omitzero" options, invalid UTF-8, NaN, cycles): the caller
// then takes the encoding/json path, which gives the same value or the
// same error.
func toJS(rt *goja.Runtime, v reflect.Value, depth int) (goja.Value, bool) {
	if !v.IsValid() {
		return goja.Null(), true
	}
	if depth > maxReflectDepth {
		return nil, false
	}
	t := v.Type()
	if t == timeType {
		tm := v.Interface().(time.Time)
		if y := tm.Year(); y < 0 || y > 9999 {
			return nil, false
		}
		return rt.ToValue(tm.Format(time.RFC3339Nano)), true
	}
	if marshals(t) {
		return nil, false
	}
	switch t.Kind() {
	case reflect.Bool:
		return rt.ToValue(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rt.ToValue(float64(v.Int())), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rt.ToValue(float64(v.Uint())), true
	case reflect.Float32:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		// encoding/json writes a float32 with 32-bit precision.
		f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
		return rt.ToValue(f), true
	case reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, false
		}
		return rt.ToValue(f), true
	case reflect.String:
		s := v.String()
		if !utf8.ValidString(s) {
			return nil, false
		}
		return rt.ToValue(s), true
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return goja.Null(), true
		}
		return toJS(rt, v.Elem(), depth+1)
	case reflect.Struct:
		return structToJS(rt, v, depth)
	case reflect.Map:
		return mapToJS(rt, v, depth)
	case reflect.Slice:
		if v.IsNil() {
			return goja.Null(), true
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return nil, false // base64 in encoding/json
		}
		return arrayToJS(rt, v, depth)
	case reflect.Array:
		return arrayToJS(rt, v, depth)
	}
	return nil, false
}

// maxReflectDepth is where toJS gives up and lets encoding/json report a
// cycle or convert a deep value.
const maxReflectDepth = 64

var (
	timeType          = reflect.TypeFor[time.Time]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

var marshalers sync.Map // reflect.Type → bool, marshals' answers

// marshals reports whether encoding/json would let t (or *t) write itself.
func marshals(t reflect.Type) bool {
	if t.Kind() == reflect.Interface {
		return false
	}
	if yes, ok := marshalers.Load(t); ok {
		return yes.(bool)
	}
	p := reflect.PointerTo(t)
	yes := t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		p.Implements(jsonMarshalerType) || p.Implements(textMarshalerType)
	marshalers.Store(t, yes)
	return yes
}

func mapToJS(rt *goja.Runtime, v reflect.Value, depth int) (goja.Value, bool) {
	t := v.Type()
	if t.Key().Kind() != reflect.String || marshals(t.Key()) {
		return nil, false
	}
	if v.IsNil() {
		return goja.Null(), true
	}
	type entry struct {
		k string
		v reflect.Value
	}
	entries := make([]entry, 0, v.Len())
	it := v.MapRange()
	for it.Next() {
		k := it.Key().String()
		if !utf8.ValidString(k) {
			return nil, false
		}
		entries = append(entries, entry{k, it.Value()})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.k, b.k) })
	o := rt.NewObject()
	for _, e := range entries {
		js, ok := toJS(rt, e.v, depth+1)
		if !ok {
			return nil, false
		}
		_ = o.Set(e.k, js)
	}
	return o, true
}

func arrayToJS(rt *goja.Runtime, v reflect.Value, depth int) (goja.Value, bool) {
	vals := make([]any, v.Len())
	for i := range vals {
		e, ok := toJS(rt, v.Index(i), depth+1)
		if !ok {
			return nil, false
		}
		vals[i] = e
	}
	return rt.NewArray(vals...), true
}

func structToJS(rt *goja.Runtime, v reflect.Value, depth int) (goja.Value, bool) {
	plan := structPlanOf(v.Type())
	if plan == nil {
		return nil, false
	}
	o := rt.NewObject()
	for i := range plan {
		f := &plan[i]
		fv, ok := fieldByIndex(v, f.index)
		if !ok || f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		e, ok := toJS(rt, fv, depth+1)
		if !ok {
			return nil, false
		}
		_ = o.Set(f.name, e)
	}
	return o, true
}

// fieldByIndex is v.FieldByIndex, except that a nil embedded pointer on
// the way means the field is absent (as encoding/json skips it).
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// jsonField is a field encoding/json writes: its name, where it is, and
// whether empty values are left out.
type jsonField struct {
	name      string
	index     []int
	omitEmpty bool
	tagged    bool
	depth     int
}

var structPlans sync.Map // reflect.Type → []jsonField, nil when toJS must not handle it

// structPlanOf lists the fields encoding/json writes for t, sorted by
// name, following its rules: exported fields, json tags, "-", fields of
// embedded structs promoted, and among fields of the same name the
// shallowest wins, a tagged one over untagged ones at that depth, or none
// when that leaves more than one. nil means "use encoding/json".
func structPlanOf(t reflect.Type) []jsonField {
	if p, ok := structPlans.Load(t); ok {
		return p.([]jsonField)
	}
	plan, _ := buildStructPlan(t) // nil when not ok
	structPlans.Store(t, plan)
	return plan
}

func buildStructPlan(t reflect.Type) ([]jsonField, bool) {
	type level struct {
		typ   reflect.Type
		index []int
	}
	var all []jsonField
	current, visited := []level{{typ: t}}, map[reflect.Type]bool{}
	for depth := 0; len(current) > 0; depth++ {
		var next []level
		for _, l := range current {
			if visited[l.typ] {
				continue
			}
			visited[l.typ] = true
			for i := 0; i < l.typ.NumField(); i++ {
				sf := l.typ.Field(i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous {
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				omitEmpty := false
				for opt := range strings.SplitSeq(opts, ",") {
					switch opt {
					case "omitempty":
						omitEmpty = true
					case "string", "omitzero":
						return nil, false
					}
				}
				if !validTagName(name) {
					name = ""
				}
				index := append(slices.Clip(l.index), i)
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					all = append(all, jsonField{name: name, index: index, omitEmpty: omitEmpty, tagged: tagged, depth: depth})
					continue
				}
				next = append(next, level{typ: ft, index: index})
			}
		}
		for i := range next {
			for j := i + 1; j < len(next); j++ {
				if next[j].typ == next[i].typ {
					return nil, false // the same struct embedded twice at one depth: encoding/json's annihilation rules
				}
			}
		}
		current = next
	}
	// The dominant field of each name, as encoding/json picks it.
	slices.SortStableFunc(all, func(a, b jsonField) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.depth != b.depth {
			return a.depth - b.depth
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return 0
	})
	var out []jsonField
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		group := all[i:j]
		if len(group) == 1 || group[1].depth > group[0].depth || group[0].tagged && !group[1].tagged {
			out = append(out, group[0])
		}
		i = j
	}
	if out == nil {
		out = []jsonField{}
	}
	return out, true
}

// validTagName is encoding/json's isValidTag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

package components

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"unicode"

	"github.com/dop251/goja"
	"go.uber.org/zap"
)

// Bind exposes component c on rt under name: every exported method (except
// Close) as a lowerCamel function on a frozen object, set as a global.
// current returns the running step's Call for methods that take one; it is
// read at each call, so the binding is made once per runtime.
//
// Methods take an optional *Call, then parameters of these types: string,
// bool, int, int64, float64, map[string]any, []any, any. They return
// nothing, a value, an error, or a value and an error. Anything else is an
// error here, at start-up, naming the method.
func Bind(rt *goja.Runtime, name string, c any, current func() *Call) (*goja.Object, error) {
	methods, err := methodsOf(reflect.TypeOf(c))
	if err != nil {
		return nil, fmt.Errorf("component %s: %w", name, err)
	}
	obj := rt.NewObject()
	recv := reflect.ValueOf(c)
	for _, m := range methods {
		b := &boundMethod{method: m, comp: name, fn: recv.Method(m.index), rt: rt, current: current}
		if err := obj.Set(m.jsName, b.call); err != nil {
			return nil, err
		}
	}
	freeze(rt, obj)
	return obj, rt.Set(name, obj)
}

// Methods lists the JS names a component exposes, sorted as Go sorts
// methods. It fails as Bind would.
func Methods(c any) ([]string, error) {
	ms, err := methodsOf(reflect.TypeOf(c))
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.jsName
	}
	return names, err
}

func freeze(rt *goja.Runtime, o *goja.Object) {
	f, _ := goja.AssertFunction(rt.Get("Object").ToObject(rt).Get("freeze"))
	if f != nil {
		_, _ = f(goja.Undefined(), o)
	}
}

type method struct {
	jsName    string
	index     int
	wantsCall bool
	params    []reflect.Type
	returns   bool // returns a value (besides an optional error)
	errIndex  int  // index of the error result, -1 if none
}

var (
	typeCall  = reflect.TypeOf((*Call)(nil))
	typeError = reflect.TypeOf((*error)(nil)).Elem()
	cache     sync.Map // reflect.Type -> []method
)

func methodsOf(t reflect.Type) ([]method, error) {
	if ms, ok := cache.Load(t); ok {
		return ms.([]method), nil
	}
	var ms []method
	for i := 0; i < t.NumMethod(); i++ {
		rm := t.Method(i)
		if rm.Name == "Close" {
			continue
		}
		m, err := methodOf(rm)
		if err != nil {
			return nil, fmt.Errorf("method %s: %w", rm.Name, err)
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errors.New("no exported methods to expose")
	}
	cache.Store(t, ms)
	return ms, nil
}

func methodOf(rm reflect.Method) (method, error) {
	ft := rm.Type // includes the receiver
	m := method{jsName: LowerCamel(rm.Name), index: rm.Index, errIndex: -1}
	for i := 1; i < ft.NumIn(); i++ {
		p := ft.In(i)
		if i == 1 && p == typeCall {
			m.wantsCall = true
			continue
		}
		if !supportedParam(p) {
			return m, fmt.Errorf("parameter %d has unsupported type %s", i, p)
		}
		m.params = append(m.params, p)
	}
	if ft.IsVariadic() {
		return m, errors.New("variadic methods are not supported")
	}
	switch ft.NumOut() {
	case 0:
	case 1:
		if ft.Out(0) == typeError {
			m.errIndex = 0
		} else {
			m.returns = true
		}
	case 2:
		if ft.Out(1) != typeError {
			return m, errors.New("a second result must be an error")
		}
		m.returns, m.errIndex = true, 1
	default:
		return m, errors.New("at most two results (value, error)")
	}
	return m, nil
}

func supportedParam(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		return t.PkgPath() == ""
	case reflect.Interface:
		return t.NumMethod() == 0
	case reflect.Map:
		return t == typeMap
	case reflect.Slice:
		return t == reflect.TypeOf([]any(nil))
	}
	return false
}

// LowerCamel turns a Go method name into the name scripts call:
// IsValid → isValid, SendSMS → sendSMS, OTPCheck → otpCheck, ID → id.
func LowerCamel(s string) string {
	r := []rune(s)
	n := 0
	for n < len(r) && unicode.IsUpper(r[n]) {
		n++
	}
	if n > 1 && n < len(r) {
		n-- // keep the capital that starts the next word: OTPCheck → otpCheck
	}
	for i := 0; i < n; i++ {
		r[i] = unicode.ToLower(r[i])
	}
	return string(r)
}

type boundMethod struct {
	method
	comp    string
	fn      reflect.Value
	rt      *goja.Runtime
	current func() *Call
}

func (b *boundMethod) call(fc goja.FunctionCall) goja.Value {
	in, err := b.args(fc)
	if err != nil {
		panic(b.rt.NewTypeError("%s.%s: %s", b.comp, b.jsName, err))
	}
	out, err := b.invoke(in)
	if err != nil {
		panic(b.rt.NewGoError(fmt.Errorf("%s.%s: %w", b.comp, b.jsName, err)))
	}
	if !b.returns {
		return goja.Undefined()
	}
	js, err := b.result(out)
	if err != nil {
		panic(b.rt.NewGoError(fmt.Errorf("%s.%s: %w", b.comp, b.jsName, err)))
	}
	return js
}

var resultPath = rootPath("result")

// result converts a method's answer for the script: directly when toJS
// can, through encoding/json (which also reports what cannot be converted)
// otherwise. JSON values need no encoding: normalize only checks what they
// hold.
func (b *boundMethod) result(out any) (goja.Value, error) {
	switch out.(type) {
	case nil, string, bool, float64, int, int64, map[string]any, []any:
	default:
		if js, ok := toJS(b.rt, reflect.ValueOf(out), 0); ok {
			return js, nil
		}
	}
	n, err := normalize(out, &resultPath)
	if err != nil {
		return nil, err
	}
	return Value(b.rt, n), nil
}

func (b *boundMethod) args(fc goja.FunctionCall) ([]reflect.Value, error) {
	if len(fc.Arguments) > len(b.params) {
		return nil, fmt.Errorf("takes %d arguments, got %d", len(b.params), len(fc.Arguments))
	}
	n := len(b.params)
	if b.wantsCall {
		n++
	}
	in := make([]reflect.Value, 0, n)
	if b.wantsCall {
		in = append(in, reflect.ValueOf(b.current()))
	}
	for i, p := range b.params {
		v, err := convertArg(fc.Argument(i), p)
		if err != nil {
			return nil, fmt.Errorf("argument %d %s", i+1, err)
		}
		in = append(in, v)
	}
	return in, nil
}

func (b *boundMethod) invoke(in []reflect.Value) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			b.current().Logger().Error("component panicked", zap.String("component", b.comp),
				zap.String("method", b.jsName), zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			err = fmt.Errorf("internal error in component")
		}
	}()
	out := b.fn.Call(in)
	if b.errIndex >= 0 && !out[b.errIndex].IsNil() {
		return nil, out[b.errIndex].Interface().(error)
	}
	if b.returns {
		return out[0].Interface(), nil
	}
	return nil, nil
}

func convertArg(v goja.Value, t reflect.Type) (reflect.Value, error) {
	if v == nil || goja.IsUndefined(v) {
		return reflect.Value{}, errors.New("is missing")
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := String(v)
		if !ok {
			return reflect.Value{}, fmt.Errorf("must be a string, got %s", typeName(v))
		}
		return reflect.ValueOf(s), nil
	case reflect.Bool:
		b, ok := v.Export().(bool)
		if !ok {
			return reflect.Value{}, fmt.Errorf("must be a boolean, got %s", typeName(v))
		}
		return reflect.ValueOf(b), nil
	case reflect.Int, reflect.Int64:
		return convertInt(v, t)
	case reflect.Float64:
		f, ok := number(v)
		if !ok {
			return reflect.Value{}, fmt.Errorf("must be a number, got %s", typeName(v))
		}
		return reflect.ValueOf(f), nil
	}
	root := rootPath("")
	x, err := export(v, &root, 0)
	if err != nil {
		return reflect.Value{}, err
	}
	if x == nil {
		return reflect.Zero(t), nil
	}
	if !reflect.TypeOf(x).AssignableTo(t) {
		return reflect.Value{}, fmt.Errorf("must be %s, got %s", kindName(t), typeName(v))
	}
	return reflect.ValueOf(x), nil
}

func convertInt(v goja.Value, t reflect.Type) (reflect.Value, error) {
	f, ok := number(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return reflect.Value{}, fmt.Errorf("must be a whole number, got %s", typeName(v))
	}
	return reflect.ValueOf(int64(f)).Convert(t), nil
}

func number(v goja.Value) (float64, bool) {
	switch v.ExportType() {
	case typeInt64:
		return v.ToFloat(), true
	case typeFloat64:
		f := v.ToFloat()
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// What goja's numbers export as: ExportType tells them apart without
// boxing the value as Export does.
var (
	typeInt64   = reflect.TypeFor[int64]()
	typeFloat64 = reflect.TypeFor[float64]()
)

func typeName(v goja.Value) string {
	if goja.IsNull(v) {
		return "null"
	}
	if o, ok := v.(*goja.Object); ok {
		c := o.ClassName()
		if c != "" && strings.ContainsRune("AEIOU", rune(c[0])) {
			return "an " + c
		}
		return "a " + c
	}
	switch v.Export().(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	}
	return v.String()
}

func kindName(t reflect.Type) string {
	if t.Kind() == reflect.Slice {
		return "an array"
	}
	return "an object"
}

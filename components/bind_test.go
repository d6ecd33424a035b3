package components_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/componentstest"
)

type greeter struct{ calls int }

var errNoName = errors.New("no name")

func (g *greeter) Hello(name string) (string, error) {
	g.calls++
	if name == "" {
		return "", errNoName
	}
	return "hello " + name, nil
}
func (g *greeter) Add(a, b int64) int64        { return a + b }
func (g *greeter) Half(x float64) float64      { return x / 2 }
func (g *greeter) Flip(b bool) bool            { return !b }
func (g *greeter) Keys(m map[string]any) []any { return []any{len(m)} }
func (g *greeter) Count(xs []any) int          { return len(xs) }
func (g *greeter) Echo(v any) any              { return v }
func (g *greeter) SendSMS(c *components.Call) string {
	return c.TID + "@" + c.Now().Format(time.RFC3339)
}
func (g *greeter) Struct() struct {
	A int `json:"a"`
} {
	return struct {
		A int `json:"a"`
	}{7}
}
func (g *greeter) Boom() { panic("kaboom") }
func (g *greeter) Wait(c *components.Call) error {
	<-c.Context().Done()
	return c.Context().Err()
}
func (g *greeter) Close() error { return nil }

func TestBind_Methods(t *testing.T) {
	rt := componentstest.New(t).Bind("G", &greeter{})
	tests := []struct {
		src  string
		want any
	}{
		{`G.hello("kim")`, "hello kim"},
		{`G.add(2, 40)`, float64(42)},
		{`G.half(3)`, 1.5},
		{`G.flip(false)`, true},
		{`G.keys({a: 1, b: [1, 2]})`, []any{float64(2)}},
		{`G.count([1, "x", null])`, float64(3)},
		// Strings and numbers cross without Export's boxing; what they
		// cross as is unchanged: any text, wrapper objects, big numbers.
		{`G.hello("홍길동")`, "hello 홍길동"},
		{`G.hello("\ud83d\ude00 " + "x".repeat(3))`, "hello \U0001F600 xxx"},
		{`G.add(new Number(2), 2 ** 52)`, float64(1<<52 + 2)},
		{`G.add(-0, 3000000000)`, float64(3000000000)},
		{`G.half(new Number(5))`, 2.5},
		{`G.half(1e300)`, 5e299},
		{`G.echo({s: "홍", n: 3, f: 0.5, big: 2 ** 60})`, map[string]any{"s": "홍", "n": float64(3), "f": 0.5, "big": float64(1 << 60)}},
		{`G.echo({n: null, s: "x", a: [true]})`, map[string]any{"n": nil, "s": "x", "a": []any{true}}},
		{`G.sendSMS()`, "TESTTID@2026-01-15T12:00:00Z"},
		{`G.struct()`, map[string]any{"a": float64(7)}},
		{`typeof G.close`, "undefined"},
		{`Object.isFrozen(G)`, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			if got := rt.Export(tt.src); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestBind_Errors(t *testing.T) {
	rt := componentstest.New(t).Bind("G", &greeter{})
	tests := []struct{ src, want string }{
		{`G.hello("")`, "G.hello: no name"},
		{`G.hello(1)`, "argument 1 must be a string, got a number"},
		{`G.hello()`, "argument 1 is missing"},
		{`G.hello("a", "b")`, "takes 1 arguments, got 2"},
		{`G.add(1.5, 1)`, "must be a whole number"},
		{`G.add(2 ** 54, 1)`, "must be a whole number"},
		{`G.half(NaN)`, "must be a number, got a number"},
		{`G.half(-Infinity)`, "must be a number"},
		{`G.half("1")`, "must be a number, got a string"},
		{`G.hello({})`, "must be a string, got an Object"},
		{`G.hello(new String("kim"))`, "must be a string, got a String"},
		{`G.echo({x: NaN})`, "argument 1 .x is NaN"},
		{`G.echo({x: undefined})`, ".x is undefined"},
		{`G.keys([1])`, "must be an object, got an Array"},
		{`G.echo(function(){})`, "is a function"},
		{`G.boom()`, "internal error in component"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			if got := rt.Throws(tt.src); !strings.Contains(got, tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
		})
	}
}

func TestBind_ErrorIsCatchableAndUnwraps(t *testing.T) {
	rt := componentstest.New(t).Bind("G", &greeter{})
	if got := rt.Export(`try { G.hello(""); "no" } catch (e) { e.message }`); got != "G.hello: no name" {
		t.Fatalf("caught %v", got)
	}
	_, err := rt.Run(`G.hello("")`)
	if !errors.Is(err, errNoName) {
		t.Fatalf("errors.Is(%v, errNoName) = false", err)
	}
}

func TestBind_ContextCancelsSlowComponent(t *testing.T) {
	rt := componentstest.New(t).Bind("G", &greeter{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	rt.Call.Ctx = ctx
	_, err := rt.Run(`G.wait()`)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline to reach the component", err)
	}
}

type badParam struct{}

func (badParam) Do(ch chan int) {}

type badResult struct{}

func (badResult) Do() (int, int) { return 0, 0 }

type noMethods struct{}

func TestBind_RejectsBadComponents(t *testing.T) {
	for name, c := range map[string]any{"param": badParam{}, "result": badResult{}, "empty": noMethods{}} {
		t.Run(name, func(t *testing.T) {
			if _, err := components.Methods(c); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestLowerCamel(t *testing.T) {
	for in, want := range map[string]string{
		"IsValid": "isValid", "SendSMS": "sendSMS", "OTPCheck": "otpCheck", "ID": "id", "Get": "get", "A": "a",
	} {
		if got := components.LowerCamel(in); got != want {
			t.Errorf("LowerCamel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRegister_Panics(t *testing.T) {
	f := func(components.Env) (any, error) { return &greeter{}, nil }
	components.RegisterForTest(t, "GREETER", f)
	for name, reg := range map[string]func(){
		"empty":     func() { components.Register("", f) },
		"malformed": func() { components.Register("a-b", f) },
		"reserved":  func() { components.Register("reqMap", f) },
		"nil":       func() { components.Register("X1", nil) },
		"duplicate": func() { components.Register("GREETER", f) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("want a panic")
				}
			}()
			reg()
		})
	}
}

func TestRegisterForTest_Restores(t *testing.T) {
	f := func(components.Env) (any, error) { return &greeter{}, nil }
	t.Run("inner", func(t *testing.T) {
		components.RegisterForTest(t, "TEMP", f)
		if !registered("TEMP") {
			t.Fatal("not registered")
		}
	})
	if registered("TEMP") {
		t.Fatal("registry not restored")
	}
}

func registered(name string) bool {
	for _, r := range components.Registered() {
		if r.Name == name {
			return true
		}
	}
	return false
}

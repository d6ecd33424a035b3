package components

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/dop251/goja"
)

type tjInner struct {
	OK   bool   `json:"ok"`
	Code string `json:"code"`
	Name string
}

type tjOther struct {
	More int
	Name string
}

type tjTagA struct {
	N string `json:"More"`
}

type tjName string

type tjTagged struct {
	tjInner `json:"inner"`
	X       int `json:"x"`
}

type tjShadow struct {
	tjInner
	Name string // shallower: wins over tjInner.Name
}

type tjConflict struct {
	tjInner
	tjOther // Name at the same depth in both, neither tagged: dropped
}

type tjTagWins struct {
	tjTagA  // "More" tagged here …
	tjOther // … wins over the untagged More at the same depth
}

type tjPtrEmbed struct {
	*tjInner
	N int `json:"n"`
}

type tjHidden struct {
	private int
	Public  int    `json:"public"`
	Skip    string `json:"-"`
	Dash    string `json:"-,"`
	Empty   string `json:"empty,omitempty"`
	Zero    int    `json:",omitempty"`
	NilP    *int   `json:"nilp,omitempty"`
	Bad     string `json:"a\"b"` // invalid tag name: the field name is used
}

type tjWhen struct {
	At time.Time `json:"at"`
	N  *int      `json:"n"`
}

// tjUnexported promotes the exported fields of an unexported embedded
// struct, as encoding/json does.
type tjUnexported struct {
	tjWhen
	OK bool `json:"ok"`
}

type tjMarshal struct{ V int }

func (m tjMarshal) MarshalJSON() ([]byte, error) { return []byte(`{"custom":true}`), nil }

type tjAll struct {
	Str     string            `json:"str"`
	Named   tjName            `json:"named"`
	I8      int8              `json:"i8"`
	U64     uint64            `json:"u64"`
	Big     int64             `json:"big"`
	F32     float32           `json:"f32"`
	F64     float64           `json:"f64"`
	When    time.Time         `json:"when"`
	WhenP   *time.Time        `json:"whenP"`
	Any     any               `json:"any"`
	Map     map[tjName]int    `json:"map"`
	NilMap  map[string]int    `json:"nilMap"`
	Slice   []tjInner         `json:"slice"`
	NilS    []int             `json:"nilS"`
	Arr     [2]bool           `json:"arr"`
	Bytes   []byte            `json:"bytes"`
	Custom  tjMarshal         `json:"custom"`
	Nested  map[string]any    `json:"nested"`
	Ptr     *tjInner          `json:"ptr"`
	Embeds  []any             `json:"embeds"`
	Strs    map[string]string `json:"strs,omitempty"`
	Unicode string            `json:"유니코드"`
}

// TestToJS_MatchesEncodingJSON: the direct conversion gives exactly what
// the trip through encoding/json gives, key order included.
func TestToJS_MatchesEncodingJSON(t *testing.T) {
	when := time.Date(2026, 11, 21, 9, 30, 0, 123000000, time.FixedZone("KST", 9*3600))
	n := 5
	values := []any{
		tjInner{true, "OK", "n"},
		tjTagged{tjInner{false, "X", "n"}, 3},
		tjShadow{tjInner{true, "inner", "in"}, "outer"},
		tjConflict{tjInner{true, "a", "x"}, tjOther{2, "y"}},
		tjTagWins{tjTagA{"tagged"}, tjOther{3, "z"}},
		tjPtrEmbed{nil, 1},
		tjPtrEmbed{&tjInner{true, "p", ""}, 2},
		tjHidden{private: 1, Public: 2, Skip: "s", Dash: "d", NilP: &n, Bad: "b"},
		tjHidden{},
		&tjInner{OK: true},
		tjAll{
			Str: "a\u2028b<>&", Named: "n", I8: -8, U64: math.MaxUint64, Big: 1<<53 + 1, F32: 0.1, F64: 1e21,
			When: when, WhenP: &when, Any: map[string]any{"z": 1, "a": []any{"x", nil}},
			Map: map[tjName]int{"b": 2, "a": 1}, Slice: []tjInner{{true, "1", ""}, {false, "2", "x"}},
			Arr: [2]bool{true, false}, Bytes: []byte("hi"), Custom: tjMarshal{1},
			Nested: map[string]any{"k": tjInner{true, "n", ""}}, Embeds: []any{tjShadow{}, 3, "s"},
			Unicode: "값",
		},
		tjAll{},
		tjUnexported{tjWhen{when, &n}, true},
		map[string]tjInner{"b": {true, "b", ""}, "a": {false, "a", ""}},
		[]tjName{"x", "y"},
		struct {
			A int `json:"a"`
		}{7},
	}
	rt := goja.New()
	stringify := func(v goja.Value) string {
		b, err := json.Marshal(v.Export())
		if err != nil {
			t.Fatal(err)
		}
		f, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("stringify"))
		s, err := f(goja.Undefined(), v)
		if err != nil {
			t.Fatal(err)
		}
		return s.String() + " / " + string(b)
	}
	for i, v := range values {
		want, err := Normalize(v)
		if err != nil {
			t.Fatalf("%d: normalize: %v", i, err)
		}
		if got, w := stringify(Value(rt, v)), stringify(Value(rt, want)); got != w {
			t.Errorf("%d (%T):\n got %s\nwant %s", i, v, got, w)
		}
	}
}

// TestToJS_FallsBack: what toJS does not convert itself it hands back, and
// what encoding/json refuses is still an error that says where.
func TestToJS_FallsBack(t *testing.T) {
	rt := goja.New()
	for _, v := range []any{
		[]byte("x"), tjMarshal{}, map[int]string{1: "a"}, math.NaN(), "\xff",
		struct {
			N int `json:"n,string"`
		}{1},
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		make(chan int),
	} {
		if _, ok := toJS(rt, reflect.ValueOf(v), 0); ok {
			t.Errorf("toJS converted %T itself", v)
		}
	}
	type cyc struct {
		Next *cyc `json:"next"`
	}
	c := &cyc{}
	c.Next = c
	if _, ok := toJS(rt, reflect.ValueOf(c), 0); ok {
		t.Error("toJS converted a cycle")
	}
	if _, err := Normalize(map[string]any{"a": []any{1, make(chan int)}}); err == nil || err.Error() != "value.a[1]: json: unsupported type: chan int" {
		t.Errorf("error = %v", err)
	}
}

package session

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// viaJSON is what a session was after a trip through a format-1 record.
func viaJSON(t testing.TB, s *Session) *Session {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatalf("json: %v", err)
	}
	out := &Session{}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("json: %v", err)
	}
	if out.Steps == nil { // as decodeBinary: no steps is an empty map
		out.Steps = map[string]*StepRecord{}
	}
	return out
}

func viaBinary(t testing.TB, s *Session) *Session {
	t.Helper()
	b, ok := appendBinary(nil, s)
	if !ok {
		t.Fatalf("appendBinary refused %+v", s)
	}
	out, err := decodeBinary(b)
	if err != nil {
		t.Fatalf("decodeBinary: %v", err)
	}
	return out
}

// sameAsJSON fails unless the binary trip gives what the JSON trip gives,
// to the Go types (float64 numbers, nil against empty maps) and the zone
// offsets of the times.
func sameAsJSON(t *testing.T, s *Session) {
	t.Helper()
	want, got := viaJSON(t, s), viaBinary(t, s)
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if !bytes.Equal(wj, gj) {
		t.Fatalf("binary trip differs from JSON's:\n json   %s\n binary %s", wj, gj)
	}
	if d := typesDiffer(want.Data, got.Data); d != "" {
		t.Fatalf("data: %s", d)
	}
	for name, w := range want.Steps {
		g := got.Steps[name]
		if (w.Data == nil) != (g.Data == nil) {
			t.Fatalf("step %s: data nil %v, want nil %v", name, g.Data == nil, w.Data == nil)
		}
		if d := typesDiffer(w.Data, g.Data); d != "" {
			t.Fatalf("step %s data: %s", name, d)
		}
	}
	if (want.Data == nil) != (got.Data == nil) {
		t.Fatalf("data nil %v, want nil %v", got.Data == nil, want.Data == nil)
	}
}

// typesDiffer compares two JSON trees by value and Go type.
func typesDiffer(a, b any) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return "map against " + typeOf(b)
		}
		for k, v := range x {
			if d := typesDiffer(v, y[k]); d != "" {
				return k + ": " + d
			}
		}
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return "array against " + typeOf(b)
		}
		for i := range x {
			if d := typesDiffer(x[i], y[i]); d != "" {
				return d
			}
		}
	default:
		if a != b {
			return typeOf(a) + " against " + typeOf(b)
		}
	}
	return ""
}

func typeOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func sampleSession() *Session {
	seoul := time.FixedZone("KST", 9*3600)
	at := time.Date(2026, 11, 21, 16, 4, 5, 123456789, time.UTC)
	return &Session{
		TID: "01KQHFP680M1CP3NXGX0C93Y15", Protocol: "payment", Version: 7,
		CreatedAt: at, UpdatedAt: at.In(seoul).Add(time.Second), ExpiresAt: at.Add(10 * time.Minute),
		ClosedBy: "bill", Seq: 4,
		Data: map[string]any{
			"CP":      map[string]any{"id": "demo", "name": "데모 상점", "fee": 2.5, "limits": []any{1.0, 2.0, nil}},
			"PRODUCT": map[string]any{"price": 1000.0, "int": 42, "big": int64(1) << 60, "neg": -3},
			"USER":    map[string]any{"phone": "010****5678", "ok": true, "no": false, "none": nil},
			"EMPTY":   map[string]any{}, "LIST": []any{}, "NILMAP": map[string]any(nil), "NILLIST": []any(nil),
			"html": "<a href=\"x\">&</a>\u2028", "tiny": 5e-324, "huge": math.MaxFloat64,
		},
		Steps: map[string]*StepRecord{
			"cp_auth": {Result: "SUCCESS", Code: "OK", Message: "success", Data: map[string]any{"TID": "x", "N": 1.5},
				Attempts: 1, LastSeq: 1, SuccessSeq: 1, At: at},
			"otp_verify": {Result: "FAIL", Code: "OTP_MISMATCH", Data: map[string]any{}, Attempts: 2, LastSeq: 3, At: at.In(seoul)},
			"user_auth":  {Result: "SUCCESS", Code: "OK", Attempts: 1, LastSeq: 2, SuccessSeq: 2},
		},
	}
}

func TestBinary_SameAsJSON(t *testing.T) {
	sameAsJSON(t, sampleSession())
	sameAsJSON(t, &Session{TID: "t"}) // zero times, nil data, no steps
	s := sampleSession()
	s.Data, s.Steps = map[string]any{}, map[string]*StepRecord{}
	sameAsJSON(t, s)
}

func TestBinary_RefusesWhatOnlyJSONConverts(t *testing.T) {
	for name, v := range map[string]any{
		"float32":      float32(0.1), // JSON writes it with 32-bit precision
		"NaN":          math.NaN(),   // JSON refuses it
		"Inf":          math.Inf(1),
		"invalid utf8": "a\xffb",
		"number":       json.Number("12"),
		"struct":       struct{ A int }{1},
		"string map":   map[string]string{"a": "b"},
		"nested":       map[string]any{"x": []any{map[string]any{"y": float32(1)}}},
	} {
		s := sampleSession()
		s.Data["V"] = v
		if _, ok := appendBinary(nil, s); ok {
			t.Errorf("%s: appendBinary took it", name)
		}
	}
	s := sampleSession()
	s.Data["a\xff"] = 1.0
	if _, ok := appendBinary(nil, s); ok {
		t.Error("a key with invalid UTF-8 was taken")
	}
	s = sampleSession()
	s.ExpiresAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := appendBinary(nil, s); ok {
		t.Error("year 10000 was taken")
	}
	s = sampleSession()
	s.CreatedAt = s.CreatedAt.In(time.FixedZone("LMT", 8*3600+27*60+52))
	if _, ok := appendBinary(nil, s); ok {
		t.Error("an offset in seconds was taken")
	}
	s = sampleSession()
	s.Steps["x"] = nil
	if _, ok := appendBinary(nil, s); ok {
		t.Error("a nil step record was taken")
	}
}

func TestBinary_CorruptIsAnError(t *testing.T) {
	b, _ := appendBinary(nil, sampleSession())
	for n := range len(b) {
		if _, err := decodeBinary(b[:n]); err == nil {
			t.Fatalf("a body cut at %d of %d bytes decoded", n, len(b))
		}
	}
	if _, err := decodeBinary(append(b, 0)); err == nil {
		t.Fatal("trailing bytes decoded")
	}
	// A count far larger than the bytes left must not allocate it.
	huge := []byte{1, 't', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, tagObject, 0xff, 0xff, 0xff, 0xff, 0x0f}
	if _, err := decodeBinary(huge); err == nil {
		t.Fatal("a huge count decoded")
	}
}

func FuzzDecodeBinary(f *testing.F) {
	b, _ := appendBinary(nil, sampleSession())
	f.Add(b)
	b, _ = appendBinary(nil, &Session{TID: "t"})
	f.Add(b)
	f.Fuzz(func(t *testing.T, p []byte) {
		s, err := decodeBinary(p)
		if err != nil {
			return
		}
		// What decodes encodes again to the same bytes' meaning.
		again, ok := appendBinary(nil, s)
		if !ok {
			t.Fatalf("a decoded session does not encode: %+v", s)
		}
		s2, err := decodeBinary(again)
		if err != nil {
			t.Fatalf("re-encoded body: %v", err)
		}
		j1, _ := json.Marshal(s)
		j2, _ := json.Marshal(s2)
		if !bytes.Equal(j1, j2) {
			t.Fatalf("not stable:\n%s\n%s", j1, j2)
		}
	})
}

// The store writes format 2, falls back to format 1 for what only JSON
// converts, and reads both: records written before format 2 stay readable.
func TestBolt_Formats(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	b, err := OpenBolt(path, &BoltOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	now := time.Now()
	fresh := func(tid string) *Session {
		s := sampleSession()
		s.TID, s.Version, s.ClosedBy = tid, 0, ""
		s.CreatedAt, s.UpdatedAt, s.ExpiresAt = now, now, now.Add(time.Hour)
		return s
	}
	formatOf := func(tid string) byte {
		var f byte
		_ = b.db.View(func(tx *bolt.Tx) error {
			f = tx.Bucket(bucketSessions).Get([]byte(tid))[0]
			return nil
		})
		return f
	}

	bin := fresh("01KQHFP680M1CP3NXGX0C93Y15")
	if err := b.Create(ctx, bin); err != nil {
		t.Fatal(err)
	}
	if f := formatOf(bin.TID); f != formatBinary {
		t.Fatalf("format %d, want %d", f, formatBinary)
	}

	odd := fresh("01KQHFP680M1CP3NXGX0C93Y16")
	odd.Data["F32"] = float32(0.1)
	if err := b.Create(ctx, odd); err != nil {
		t.Fatal(err)
	}
	if f := formatOf(odd.TID); f != formatJSON {
		t.Fatalf("format %d, want %d (JSON for a float32)", f, formatJSON)
	}
	got, err := b.Load(ctx, odd.TID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["F32"] != 0.1 {
		t.Fatalf("F32 = %v, want 0.1 as JSON gives it", got.Data["F32"])
	}
	got.Data["F32"] = 0.25 // plain JSON values again: the next save is binary
	if err := b.Save(ctx, got); err != nil {
		t.Fatal(err)
	}
	if f := formatOf(odd.TID); f != formatBinary {
		t.Fatalf("format %d after a save, want %d", f, formatBinary)
	}

	nan := fresh("01KQHFP680M1CP3NXGX0C93Y17")
	nan.Data["X"] = math.NaN()
	if err := b.Create(ctx, nan); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("Create with NaN: %v, want JSON's error", err)
	}

	// A format-1 record as an earlier version wrote it.
	old := fresh("01KQHFP680M1CP3NXGX0C93Y18")
	old.Version = 3
	body, _ := json.Marshal(old)
	rec := append(appendHeader(nil, header{format: formatJSON, version: 3, expires: true, exp: unixNanos(old.ExpiresAt)}), body...)
	if err := b.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Put([]byte(old.TID), rec)
	}); err != nil {
		t.Fatal(err)
	}
	got, err = b.Load(ctx, old.TID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || got.Data["CP"].(map[string]any)["name"] != "데모 상점" || got.Steps["cp_auth"].Code != "OK" {
		t.Fatalf("format-1 record read as %+v", got)
	}
	if err := b.Save(ctx, got); err != nil {
		t.Fatal(err)
	}
	if f := formatOf(old.TID); f != formatBinary {
		t.Fatalf("format %d after saving a format-1 record, want %d", f, formatBinary)
	}
}

func BenchmarkRecordCodec(b *testing.B) {
	s := sampleSession()
	enc, _ := appendBinary(nil, s)
	js, _ := json.Marshal(s)
	b.Run("binary-encode", func(b *testing.B) {
		buf := make([]byte, 0, 2048)
		for b.Loop() {
			buf, _ = appendBinary(buf[:0], s)
		}
	})
	b.Run("binary-decode", func(b *testing.B) {
		for b.Loop() {
			_, _ = decodeBinary(enc)
		}
	})
	b.Run("json-encode", func(b *testing.B) {
		var buf bytes.Buffer
		e := json.NewEncoder(&buf)
		for b.Loop() {
			buf.Reset()
			_ = e.Encode(s)
		}
	})
	b.Run("json-decode", func(b *testing.B) {
		for b.Loop() {
			_ = json.Unmarshal(js, &Session{})
		}
	})
	b.Logf("body: binary %d B, JSON %d B", len(enc), len(js))
}

// A field added to Session or StepRecord must be carried by the binary
// body too: this fills every field by reflection, so a field the codec
// forgets fails here rather than vanishing from stored sessions.
func TestBinary_CarriesEveryField(t *testing.T) {
	var fill func(v reflect.Value, path string)
	fill = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.String:
			v.SetString("x-" + path)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int64:
			v.SetInt(7)
		case reflect.Uint64:
			v.SetUint(9)
		case reflect.Map:
			switch v.Type().Elem() {
			case reflect.TypeFor[any]():
				v.Set(reflect.ValueOf(map[string]any{"k": path}))
			case reflect.TypeFor[*StepRecord]():
				r := &StepRecord{}
				fill(reflect.ValueOf(r).Elem(), path+".step")
				v.Set(reflect.ValueOf(map[string]*StepRecord{"s": r}))
			default:
				t.Fatalf("%s: no filler for %s; teach this test and appendBinary", path, v.Type())
			}
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				v.Set(reflect.ValueOf(time.Date(2026, 11, 21, 1, 2, 3, 4, time.UTC)))
				return
			}
			for i := range v.NumField() {
				fill(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		default:
			t.Fatalf("%s: no filler for %s; teach this test and appendBinary", path, v.Type())
		}
	}
	s := &Session{}
	fill(reflect.ValueOf(s).Elem(), "s")
	got := viaBinary(t, s)
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("a field was lost:\n got  %+v\n want %+v", got, s)
	}
	if !reflect.DeepEqual(got.Steps["s"], s.Steps["s"]) {
		t.Fatalf("a step record field was lost:\n got  %+v\n want %+v", got.Steps["s"], s.Steps["s"])
	}
}

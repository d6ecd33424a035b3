package server_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tunapay/tuna/server"
)

func TestParseBody(t *testing.T) {
	tests := []struct {
		name, ct, body string
		want           map[string]string
		code           string
	}{
		{"form", "application/x-www-form-urlencoded", "A=1&B=x+y&C=%ED%95%9C", map[string]string{"A": "1", "B": "x y", "C": "한"}, ""},
		{"empty pairs skipped", "", "&A=1&&", map[string]string{"A": "1"}, ""},
		{"key without value", "", "A", map[string]string{"A": ""}, ""},
		{"json scalars", "application/json", `{"A":"1","N":1.50,"T":true,"F":false,"Z":null}`, map[string]string{"A": "1", "N": "1.50", "T": "true", "F": "false"}, ""},
		{"json duplicate", "application/json", `{"A":"1","A":"2"}`, nil, server.CodeBadRequest},
		{"json trailing", "application/json", `{"A":"1"} {}`, nil, server.CodeBadRequest},
		{"json nested array", "application/json", `{"A":[1]}`, nil, server.CodeBadRequest},
		{"empty key", "", "=1", nil, server.CodeBadRequest},
		{"NUL in a value", "", "A=x%00y", nil, server.CodeBadRequest},
		{"NUL in JSON", "application/json", `{"A":"x\u0000"}`, nil, server.CodeBadRequest},
		{"bad media type", "text/plain", "A=1", nil, server.CodeUnsupportedMedia},
		{"unparsable media type", "a/b; =", "A=1", nil, server.CodeUnsupportedMedia},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := server.ParseBody(tt.ct, strings.NewReader(tt.body), server.Limits{})
			if tt.code != "" {
				var be *server.BodyError
				if !errors.As(err, &be) || be.Code != tt.code {
					t.Fatalf("err = %v, want %s", err, tt.code)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// FuzzParseBody: whatever the body, parsing answers with bounded, valid
// UTF-8 parameters or a BodyError with a catalogue code, never a panic.
func FuzzParseBody(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"", "A=1&B=2"}, {"application/json", `{"A":"1","B":2}`}, {"application/json", `{"A":{"b":1}}`},
		{"application/x-www-form-urlencoded", "%zz=1"}, {"application/json", `[`}, {"text/plain", "x"},
		{"application/json; charset=utf-8", `{"한":"글"}`}, {"", "A=%ff"},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	lim := server.Limits{MaxBody: 512, MaxParams: 8, MaxKey: 16, MaxValue: 32}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		got, err := server.ParseBody(ct, strings.NewReader(string(body)), lim)
		if err != nil {
			var be *server.BodyError
			if !errors.As(err, &be) || be.Code == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if len(got) > lim.MaxParams {
			t.Fatalf("%d params over the limit", len(got))
		}
		for k, v := range got {
			if k == "" || len(k) > lim.MaxKey || strings.ContainsRune(k+v, 0) || len(v) > lim.MaxValue || !utf8.ValidString(k) || !utf8.ValidString(v) {
				t.Fatalf("param %q=%q breaks a limit", k, v)
			}
		}
	})
}

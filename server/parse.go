package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Limits bound what a request body may carry. Zero values mean the defaults.
type Limits struct {
	MaxBody   int64 // bytes; default 64 KiB
	MaxParams int   // default 64
	MaxKey    int   // bytes of a parameter name; default 64
	MaxValue  int   // bytes of a parameter value; default 4096
}

func (l Limits) withDefaults() Limits {
	if l.MaxBody <= 0 {
		l.MaxBody = 64 << 10
	}
	if l.MaxParams <= 0 {
		l.MaxParams = 64
	}
	if l.MaxKey <= 0 {
		l.MaxKey = 64
	}
	if l.MaxValue <= 0 {
		l.MaxValue = 4096
	}
	return l
}

// BodyError is a request body refused before any step runs. Code is from
// the catalogue; Param names the offending parameter, if one.
type BodyError struct {
	Code  string
	Msg   string
	Param string
}

func (e *BodyError) Error() string { return e.Msg }

func bodyErr(code, format string, args ...any) *BodyError {
	return &BodyError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ParseBody reads a step's parameters from a form-urlencoded or JSON body:
// a flat object whose values are strings (JSON numbers and booleans are
// taken as their literal text, null as absent). Anything else — a body over
// the limit, bad encoding, nesting, a repeated name, too many or too long
// parameters — is a *BodyError.
func ParseBody(contentType string, body io.Reader, lim Limits) (map[string]string, error) {
	lim = lim.withDefaults()
	raw, err := io.ReadAll(io.LimitReader(body, lim.MaxBody+1))
	if err != nil {
		return nil, bodyErr(CodeBadRequest, "the body could not be read")
	}
	if int64(len(raw)) > lim.MaxBody {
		return nil, bodyErr(CodeBodyTooLarge, "the body is over %d bytes", lim.MaxBody)
	}
	mt := "application/x-www-form-urlencoded"
	if contentType != "" {
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil, bodyErr(CodeUnsupportedMedia, "unreadable Content-Type")
		}
	}
	p := &paramSet{lim: lim, m: make(map[string]string, 16)}
	switch mt {
	case "application/x-www-form-urlencoded":
		err = p.form(raw)
	case "application/json":
		err = p.json(raw)
	default:
		err = bodyErr(CodeUnsupportedMedia, "send application/x-www-form-urlencoded or application/json, not %s", mt)
	}
	if err != nil {
		return nil, err
	}
	return p.m, nil
}

type paramSet struct {
	lim Limits
	m   map[string]string
}

func (p *paramSet) add(k, v string) error {
	switch {
	case k == "" || len(k) > p.lim.MaxKey:
		return bodyErr(CodeBadRequest, "a parameter name is empty or over %d bytes", p.lim.MaxKey)
	case !utf8.ValidString(k) || !utf8.ValidString(v):
		return bodyErr(CodeBadRequest, "parameters must be UTF-8")
	case strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v, 0) >= 0:
		return &BodyError{Code: CodeBadRequest, Msg: "parameters may not contain NUL characters", Param: k}
	case len(v) > p.lim.MaxValue:
		return &BodyError{Code: CodeParamTooLong, Msg: fmt.Sprintf("%s is over %d bytes", k, p.lim.MaxValue), Param: k}
	}
	if _, dup := p.m[k]; dup {
		return &BodyError{Code: CodeBadRequest, Msg: k + " is given more than once", Param: k}
	}
	if len(p.m) >= p.lim.MaxParams {
		return bodyErr(CodeTooManyParams, "more than %d parameters", p.lim.MaxParams)
	}
	p.m[k] = v
	return nil
}

func (p *paramSet) form(raw []byte) error {
	for len(raw) > 0 {
		var pair []byte
		pair, raw, _ = bytes.Cut(raw, []byte{'&'})
		if len(pair) == 0 {
			continue
		}
		k, v, _ := bytes.Cut(pair, []byte{'='})
		key, err1 := url.QueryUnescape(string(k))
		val, err2 := url.QueryUnescape(string(v))
		if err1 != nil || err2 != nil {
			return bodyErr(CodeBadRequest, "the form body is not valid URL encoding")
		}
		if err := p.add(key, val); err != nil {
			return err
		}
	}
	return nil
}

func (p *paramSet) json(raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return bodyErr(CodeBadRequest, "the JSON body must be an object of string values")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return bodyErr(CodeBadRequest, "malformed JSON")
		}
		vt, err := dec.Token()
		if err != nil {
			return bodyErr(CodeBadRequest, "malformed JSON")
		}
		if err := p.jsonValue(kt.(string), vt); err != nil {
			return err
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return bodyErr(CodeBadRequest, "malformed JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return bodyErr(CodeBadRequest, "data after the JSON object")
	}
	return nil
}

func (p *paramSet) jsonValue(k string, v json.Token) error {
	switch x := v.(type) {
	case string:
		return p.add(k, x)
	case json.Number:
		return p.add(k, x.String())
	case bool:
		if x {
			return p.add(k, "true")
		}
		return p.add(k, "false")
	case nil:
		return nil
	default:
		return &BodyError{Code: CodeBadRequest, Msg: k + ": values must be strings, numbers or booleans, not objects or arrays", Param: k}
	}
}

package window_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/net/html"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/window"
	"github.com/tunapay/tuna/session/storetest"
)

const (
	tid      = "01KBZ8Q6W2X9Y3V4T5S6R7P8N0"
	otherTID = "01KBZ8Q6W2X9Y3V4T5S6R7P8N1"
	// What the user enters, and what must never come back in clear.
	userName  = "홍길동"
	userPhone = "01012345678"
	userBirth = "19900101"
	theOTP    = "711789"
)

var t0 = time.Date(2026, 11, 21, 20, 2, 35, 0, payment.Seoul)

// call is one RunStep the fake saw.
type call struct {
	Protocol, Step string
	Params         map[string]string
}

// fakeRun answers steps from a script and records every call.
type fakeRun struct {
	mu     sync.Mutex
	calls  []call
	answer func(step string, params map[string]string) (window.Envelope, error)
}

func (f *fakeRun) run(_ context.Context, protocol, step string, params map[string]string) (window.Envelope, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{protocol, step, maps.Clone(params)})
	if f.answer == nil {
		return window.Envelope{Result: "FAIL", Code: "FAIL"}, nil
	}
	return f.answer(step, params)
}

type answerFunc = func(step string, params map[string]string) (window.Envelope, error)

// set makes a answer the steps from now on.
func (f *fakeRun) set(a answerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer = a
}

func (f *fakeRun) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// ledger is an in-memory ledger of payments.
type ledger struct {
	mu sync.Mutex
	m  map[string]payment.Payment
}

func (l *ledger) put(p payment.Payment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[p.TID] = p
}

func (l *ledger) get(_ context.Context, tid string) (*payment.Payment, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.m[tid]
	if !ok {
		return nil, payment.ErrNotFound
	}
	return &p, nil
}

// env is a window over fakes.
type env struct {
	t      testing.TB
	run    *fakeRun
	ledger *ledger
	clock  *storetest.Clock
	logs   *observer.ObservedLogs
	h      http.Handler
	leaks  atomic.Int64 // answers that held the OTP
}

func newEnv(t testing.TB) *env {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	e := &env{t: t, run: &fakeRun{}, ledger: &ledger{m: map[string]payment.Payment{}}, clock: storetest.NewClock(t0), logs: logs}
	e.ledger.put(newPayment(tid, payment.StatusReady))
	e.ledger.put(newPayment(otherTID, payment.StatusReady))
	w, err := window.New(window.Options{
		Run:      e.run.run,
		Payments: e.ledger.get,
		Merchant: func(_ context.Context, cpID string) (string, error) {
			if cpID == "demo" {
				return "Demo Shop", nil
			}
			return "", payment.ErrNotFound
		},
		Key: []byte("0123456789abcdef0123456789abcdef"),
		Now: e.clock.Now,
		Log: zap.New(core),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.h = w.Handler()
	// No answer of any test ever holds the OTP, in its body or headers.
	t.Cleanup(func() {
		if n := e.leaks.Load(); n > 0 {
			t.Errorf("%d answers held the OTP", n)
		}
	})
	return e
}

func newPayment(tid string, s payment.Status) payment.Payment {
	p := payment.Payment{TID: tid, CPID: "demo", OrderID: "order-1001", ProductID: "tea-01", ProductName: "Green tea",
		Amount: 5000, ReturnURL: "https://shop.example/return", Status: s,
		CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	if s != payment.StatusReady {
		p.UserName, p.Phone, p.Carrier = userName, userPhone, "SKT"
	}
	return p
}

// with changes the ledger's payment tid.
func (e *env) with(tid string, change func(*payment.Payment)) {
	p, _ := e.ledger.get(context.Background(), tid)
	change(p)
	e.ledger.put(*p)
}

func (e *env) do(req *http.Request) *response {
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	if strings.Contains(string(body), theOTP) || strings.Contains(fmt.Sprint(res.Header), theOTP) {
		e.leaks.Add(1)
	}
	return &response{Response: res, Body: string(body)}
}

func (e *env) get(path string, cookies ...*http.Cookie) *response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return e.do(req)
}

func (e *env) post(path string, form url.Values, cookies ...*http.Cookie) *response {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return e.do(req)
}

// open GETs tid's window and returns its cookie and CSRF token.
func (e *env) open(tid string) (*http.Cookie, string) {
	e.t.Helper()
	res := e.get("/pay/" + tid)
	c := res.cookie(tid)
	f := res.form(e.t, "")
	if c == nil || f.Hidden["csrf"] == "" {
		e.t.Fatalf("GET /pay/%s: no CSRF cookie or token:\n%s", tid, res.Body)
	}
	return c, f.Hidden["csrf"]
}

// toOTPScreen submits the user form successfully and returns the OTP screen.
func (e *env) toOTPScreen() (*response, *http.Cookie, string) {
	e.t.Helper()
	e.run.set(func(step string, _ map[string]string) (window.Envelope, error) {
		return userAuthOK(e.clock.Now()), nil
	})
	c, token := e.open(tid)
	res := e.post("/pay/"+tid+"/user", userForm(token), c)
	e.with(tid, func(p *payment.Payment) {
		p.Status, p.Phone, p.UserName, p.Carrier = payment.StatusUserAuthed, userPhone, userName, "SKT"
	})
	if res.StatusCode != http.StatusOK || res.form(e.t, "/pay/"+tid+"/otp").Action == "" {
		e.t.Fatalf("POST /user: want the OTP screen, got %d:\n%s", res.StatusCode, res.Body)
	}
	return res, c, token
}

func userAuthOK(now time.Time) window.Envelope {
	return window.Envelope{Result: "SUCCESS", Code: "OK", TID: tid, Data: map[string]any{
		"PHONE": "010****5678", "OTP_EXPIRES_AT": now.Add(3 * time.Minute).In(payment.Seoul).Format(time.RFC3339)}}
}

func userForm(token string) url.Values {
	return url.Values{"csrf": {token}, "name": {" " + userName + " "}, "phone_number": {"010-1234-5678"},
		"carrier": {"SKT"}, "birth": {userBirth}, "gender": {"M"}}
}

func fail(code string, data map[string]any) window.Envelope {
	if data == nil {
		data = map[string]any{}
	}
	return window.Envelope{Result: "FAIL", Code: code, Message: "engine message", TID: tid, Data: data}
}

// response is an answer, read.
type response struct {
	*http.Response
	Body string
}

func (r *response) cookie(tid string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == "tuna_pay_"+tid {
			return c
		}
	}
	return nil
}

// form is a form of a page.
type form struct {
	Action string
	Hidden map[string]string
	Inputs map[string]*html.Node // by name; radios: the last one
}

func (r *response) doc(t testing.TB) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parsing the page: %v", err)
	}
	return doc
}

// forms lists the page's forms.
func (r *response) forms(t testing.TB) []form {
	var out []form
	walk(r.doc(t), func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "form" {
			return
		}
		f := form{Action: attr(n, "action"), Hidden: map[string]string{}, Inputs: map[string]*html.Node{}}
		walk(n, func(in *html.Node) {
			if in.Type != html.ElementNode || (in.Data != "input" && in.Data != "select") {
				return
			}
			f.Inputs[attr(in, "name")] = in
			if attr(in, "type") == "hidden" {
				f.Hidden[attr(in, "name")] = attr(in, "value")
			}
		})
		out = append(out, f)
	})
	return out
}

// form returns the form posting to action ("" for the first).
func (r *response) form(t testing.TB, action string) form {
	for _, f := range r.forms(t) {
		if action == "" || f.Action == action {
			return f
		}
	}
	return form{}
}

// text is the page's visible text, whitespace collapsed.
func (r *response) text(t testing.TB) string {
	var b strings.Builder
	walk(r.doc(t), func(n *html.Node) {
		if n.Type == html.TextNode && (n.Parent == nil || n.Parent.Data != "script") {
			b.WriteString(n.Data + " ")
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// wantMessage checks that the page says code's message, Korean first.
func wantMessage(t testing.TB, res *response, code string) {
	t.Helper()
	ko, en := window.Message(code)
	text := res.text(t)
	i, j := strings.Index(text, ko), strings.Index(text, en)
	if i < 0 || j < 0 || i > j {
		t.Errorf("%s: want %q then %q on the page; text:\n%s", code, ko, en, text)
	}
}

// wantCSRFFields checks that every form of the page posts a CSRF token.
func wantCSRFFields(t testing.TB, res *response) {
	t.Helper()
	forms := res.forms(t)
	for _, f := range forms {
		if f.Hidden["csrf"] == "" {
			t.Errorf("form %q has no csrf field", f.Action)
		}
	}
}

func TestNew_Options(t *testing.T) {
	ok := window.Options{Run: (&fakeRun{}).run, Payments: (&ledger{}).get, Key: make([]byte, 32)}
	tests := []struct {
		name   string
		change func(*window.Options)
	}{
		{"no Run", func(o *window.Options) { o.Run = nil }},
		{"no Payments", func(o *window.Options) { o.Payments = nil }},
		{"short key", func(o *window.Options) { o.Key = make([]byte, 31) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.change(&o)
			if _, err := window.New(o); !errors.Is(err, window.ErrOptions) {
				t.Errorf("New: %v, want ErrOptions", err)
			}
		})
	}
	if _, err := window.New(ok); err != nil {
		t.Errorf("New: %v", err)
	}
}

func TestShow_ByStatus(t *testing.T) {
	tests := []struct {
		name      string
		path      string
		change    func(*payment.Payment)
		status    int
		location  string // a redirect's
		wantForm  string // the action of a form the page has
		wantCode  string // the message the page says
		wantText  []string
		forbidden []string
	}{
		{name: "ready: the user form", path: "/pay/" + tid, status: 200, wantForm: "/pay/" + tid + "/user",
			wantText: []string{"Demo Shop", "Green tea", "5,000원", "본인 정보 입력"}},
		{name: "user authed: the OTP screen", path: "/pay/" + tid,
			change: func(p *payment.Payment) { p.Status, p.Phone = payment.StatusUserAuthed, userPhone },
			status: 200, wantForm: "/pay/" + tid + "/otp", wantText: []string{"010****5678"}, forbidden: []string{userPhone, userName}},
		{name: "user authed, step=user: the user form", path: "/pay/" + tid + "?step=user",
			change: func(p *payment.Payment) { p.Status, p.Phone = payment.StatusUserAuthed, userPhone },
			status: 200, wantForm: "/pay/" + tid + "/user"},
		{name: "verified: back to the merchant", path: "/pay/" + tid,
			change:   func(p *payment.Payment) { p.Status = payment.StatusVerified },
			status:   303,
			location: "https://shop.example/return?TID=" + tid + "&RESULT=SUCCESS"},
		{name: "verified, step=user: still back to the merchant", path: "/pay/" + tid + "?step=user",
			change:   func(p *payment.Payment) { p.Status = payment.StatusVerified },
			status:   303,
			location: "https://shop.example/return?TID=" + tid + "&RESULT=SUCCESS"},
		{name: "paid: back to the merchant", path: "/pay/" + tid,
			change:   func(p *payment.Payment) { p.Status, p.ReturnURL = payment.StatusPaid, "https://shop.example/r?a=1" },
			status:   303,
			location: "https://shop.example/r?a=1&TID=" + tid + "&RESULT=SUCCESS"},
		{name: "refunded: back to the merchant", path: "/pay/" + tid,
			change:   func(p *payment.Payment) { p.Status = payment.StatusRefunded },
			status:   303,
			location: "https://shop.example/return?TID=" + tid + "&RESULT=SUCCESS"},
		{name: "verified, no return URL: the done page", path: "/pay/" + tid,
			change: func(p *payment.Payment) { p.Status, p.ReturnURL = payment.StatusVerified, "" },
			status: 200, wantCode: "DONE"},
		{name: "verified, a javascript: return URL: the done page", path: "/pay/" + tid,
			change: func(p *payment.Payment) { p.Status, p.ReturnURL = payment.StatusVerified, "javascript:alert(1)" },
			status: 200, wantCode: "DONE", forbidden: []string{"javascript:"}},
		{name: "failed: its failure", path: "/pay/" + tid,
			change: func(p *payment.Payment) { p.Status, p.FailCode = payment.StatusFailed, "OTP_LOCKED" },
			status: 200, wantCode: "OTP_LOCKED",
			wantText: []string{"가맹점으로 돌아가기"}},
		{name: "failed without a code", path: "/pay/" + tid,
			change: func(p *payment.Payment) { p.Status = payment.StatusFailed },
			status: 200, wantCode: "PAYMENT_FAILED"},
		{name: "expired", path: "/pay/" + tid,
			change: func(p *payment.Payment) { p.ExpiresAt = t0.Add(-time.Second) },
			status: 410, wantCode: "PAYMENT_EXPIRED"},
		{name: "unknown TID", path: "/pay/01KBZ8Q6W2X9Y3V4T5S6R7P8NZ", status: 404, wantCode: "TID_NOT_FOUND"},
		{name: "malformed TID", path: "/pay/01kbz8q6w2x9y3v4t5s6r7p8n0", status: 404, wantCode: "TID_NOT_FOUND"},
		{name: "TID with an I", path: "/pay/01KBZ8Q6W2X9Y3V4T5S6R7P8NI", status: 404, wantCode: "TID_NOT_FOUND"},
		{name: "no such page", path: "/pay/" + tid + "/nothing", status: 404, wantCode: "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			if tt.change != nil {
				e.with(tid, tt.change)
			}
			res := e.get(tt.path)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d:\n%s", res.StatusCode, tt.status, res.Body)
			}
			if got := res.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if tt.wantForm != "" && res.form(t, tt.wantForm).Action == "" {
				t.Errorf("no form posting to %s:\n%s", tt.wantForm, res.Body)
			}
			if tt.wantCode != "" {
				wantMessage(t, res, tt.wantCode)
			}
			for _, s := range tt.wantText {
				if !strings.Contains(res.text(t), s) {
					t.Errorf("page lacks %q:\n%s", s, res.text(t))
				}
			}
			for _, s := range tt.forbidden {
				if strings.Contains(res.Body, s) {
					t.Errorf("page shows %q", s)
				}
			}
			if tt.location == "" {
				wantCSRFFields(t, res)
			}
			if n := len(e.run.Calls()); n != 0 {
				t.Errorf("GET ran %d steps", n)
			}
		})
	}
}

func TestShow_UserForm_Fields(t *testing.T) {
	e := newEnv(t)
	res := e.get("/pay/" + tid)
	f := res.form(t, "/pay/"+tid+"/user")
	for _, name := range []string{"csrf", "name", "phone_number", "carrier", "birth", "gender"} {
		if f.Inputs[name] == nil {
			t.Errorf("the user form has no %s", name)
		}
	}
	var carriers, genders []string
	walk(res.doc(t), func(n *html.Node) {
		switch {
		case n.Type == html.ElementNode && n.Data == "option" && attr(n, "value") != "":
			carriers = append(carriers, attr(n, "value"))
		case n.Type == html.ElementNode && n.Data == "input" && attr(n, "type") == "radio":
			genders = append(genders, attr(n, "value"))
		}
	})
	if got := strings.Join(carriers, " "); got != "SKT KT LGU SKT_MVNO KT_MVNO LGU_MVNO" {
		t.Errorf("carriers %q", got)
	}
	if got := strings.Join(genders, " "); got != "M F" {
		t.Errorf("genders %q", got)
	}
	for _, s := range []string{"LG U+", "알뜰폰", "남", "Male", "여", "Female"} {
		if !strings.Contains(res.text(t), s) {
			t.Errorf("the form lacks %q", s)
		}
	}
	if !strings.Contains(res.Body, `name="viewport"`) {
		t.Error("no viewport meta")
	}
}

func TestSubmitUser_HappyPath(t *testing.T) {
	e := newEnv(t)
	res, _, _ := e.toOTPScreen()
	calls := e.run.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls, want 1", len(calls))
	}
	want := map[string]string{"TID": tid, "name": userName, "phone_number": userPhone, "carrier": "SKT",
		"birth": userBirth, "gender": "M"}
	if c := calls[0]; c.Protocol != "payment" || c.Step != "user_auth" || !maps.Equal(c.Params, want) {
		t.Errorf("call %+v, want payment/user_auth %v", c, want)
	}
	text := res.text(t)
	for _, s := range []string{"010****5678", "3:00", "20:05:35", "인증번호 다시 받기", "Send a new code"} {
		if !strings.Contains(text, s) {
			t.Errorf("the OTP screen lacks %q:\n%s", s, text)
		}
	}
	for _, s := range []string{userPhone, userName, userBirth} {
		if strings.Contains(res.Body, s) {
			t.Errorf("the OTP screen shows %q in clear", s)
		}
	}
	if !strings.Contains(res.Body, `data-seconds="180"`) {
		t.Error("no countdown")
	}
	resend := res.form(t, "/pay/"+tid+"/resend")
	if resend.Hidden["sealed"] == "" || len(resend.Hidden) != 2 {
		t.Errorf("the resend form carries %v, want csrf and one sealed field", resend.Hidden)
	}
	wantCSRFFields(t, res)
}

// The steps' failure codes, and the screen each leaves the user on.
var failures = []struct {
	step, code string
	data       map[string]any
	page       string // the form left: "user", "otp", or "" for an error page
	status     int
}{
	{"user", "CARRIER_IDENTITY_MISMATCH", nil, "user", 200},
	{"user", "RM_BLOCKED", nil, "user", 200},
	{"user", "LIMIT_EXCEEDED", nil, "user", 200},
	{"user", "SMS_NOT_DELIVERED", nil, "user", 200},
	{"user", "INVALID_PARAMS", map[string]any{"missing": []string{}, "invalid": []string{"phone_number"}}, "user", 200},
	{"user", "TID_BUSY", nil, "user", 200},
	{"user", "STEP_OUT_OF_ORDER", nil, "user", 200},
	{"user", "SOMETHING_NEW", nil, "user", 200},
	{"user", "OTP_SEND_LIMIT", nil, "", 200},
	{"user", "PAYMENT_EXPIRED", nil, "", 410},
	{"user", "PAYMENT_FAILED", nil, "", 200},
	{"user", "TID_EXPIRED", nil, "", 410},
	{"user", "TID_NOT_FOUND", nil, "", 404},
	{"user", "TOO_MANY_ATTEMPTS", nil, "", 200},
	{"otp", "OTP_MISMATCH", map[string]any{"ATTEMPTS_LEFT": 3}, "otp", 200},
	{"otp", "OTP_EXPIRED", map[string]any{"ATTEMPTS_LEFT": 5}, "otp", 200},
	{"otp", "INVALID_PARAMS", map[string]any{"missing": []any{"OTP"}, "invalid": []any{}}, "otp", 200},
	{"otp", "TID_BUSY", nil, "otp", 200},
	{"otp", "STEP_OUT_OF_ORDER", nil, "user", 200},
	{"otp", "OTP_LOCKED", nil, "", 200},
	{"otp", "TOO_MANY_ATTEMPTS", nil, "", 200},
	{"otp", "PAYMENT_EXPIRED", nil, "", 410},
	{"otp", "PAYMENT_FAILED", nil, "", 200},
	{"otp", "TID_EXPIRED", nil, "", 410},
	{"otp", "TID_NOT_FOUND", nil, "", 404},
}

func TestSteps_FailureMessages(t *testing.T) {
	for _, tt := range failures {
		t.Run(tt.step+"/"+tt.code, func(t *testing.T) {
			e := newEnv(t)
			e.with(tid, func(p *payment.Payment) { p.ReturnURL = "" }) // pages, not redirects
			var res *response
			if tt.step == "user" {
				e.run.set(func(string, map[string]string) (window.Envelope, error) { return fail(tt.code, tt.data), nil })
				c, token := e.open(tid)
				res = e.post("/pay/"+tid+"/user", userForm(token), c)
			} else {
				otp, c, token := e.toOTPScreen()
				e.run.set(func(string, map[string]string) (window.Envelope, error) { return fail(tt.code, tt.data), nil })
				res = e.post("/pay/"+tid+"/otp", url.Values{"csrf": {token}, "OTP": {theOTP},
					"sealed": {otp.form(t, "/pay/"+tid+"/resend").Hidden["sealed"]}}, c)
			}
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
			wantMessage(t, res, tt.code)
			switch tt.page {
			case "user":
				f := res.form(t, "/pay/"+tid+"/user")
				if f.Action == "" {
					t.Fatalf("want the user form:\n%s", res.Body)
				}
				if tt.step == "user" && (attr(f.Inputs["name"], "value") != userName || attr(f.Inputs["phone_number"], "value") != userPhone) {
					t.Errorf("the form lost what the user typed")
				}
			case "otp":
				if res.form(t, "/pay/"+tid+"/otp").Action == "" || res.form(t, "/pay/"+tid+"/resend").Action == "" {
					t.Fatalf("want the OTP screen with its resend button:\n%s", res.Body)
				}
			default:
				if len(res.forms(t)) != 0 {
					t.Errorf("want an error page, got forms:\n%s", res.Body)
				}
			}
			wantCSRFFields(t, res)
			if strings.Contains(res.Body, theOTP) {
				t.Error("the page shows the OTP")
			}
		})
	}
}

func TestMessage_EveryCode(t *testing.T) {
	codes := []string{"CARRIER_IDENTITY_MISMATCH", "RM_BLOCKED", "LIMIT_EXCEEDED", "SMS_NOT_DELIVERED",
		"OTP_SEND_LIMIT", "OTP_MISMATCH", "OTP_EXPIRED", "OTP_LOCKED", "PAYMENT_EXPIRED", "PAYMENT_FAILED",
		"TID_EXPIRED", "TID_NOT_FOUND", "TOO_MANY_ATTEMPTS", "STEP_OUT_OF_ORDER", "INVALID_PARAMS", "TID_BUSY",
		"OTP_NOT_SENT", "USER_NOT_CHECKED", "OTP_ALREADY_USED", "PAYMENT_NOT_FOUND", "SESSION_CLOSED",
		"SERVER_BUSY", "BILL_DECLINED", "BILL_NET_CANCELLED"}
	genericKo, genericEn := window.Message("NO_SUCH_CODE")
	hangul := regexp.MustCompile(`\p{Hangul}`)
	seen := map[string]string{}
	for _, code := range codes {
		ko, en := window.Message(code)
		if ko == genericKo || en == genericEn {
			t.Errorf("%s has only the generic message", code)
		}
		if !hangul.MatchString(ko) || hangul.MatchString(en) || en == "" {
			t.Errorf("%s: ko %q, en %q", code, ko, en)
		}
		if other, ok := seen[en]; ok && !(code == "PAYMENT_NOT_FOUND" || other == "PAYMENT_NOT_FOUND") {
			t.Errorf("%s and %s say the same", code, other)
		}
		seen[en] = code
	}
	if !hangul.MatchString(genericKo) || genericEn == "" {
		t.Errorf("generic message: %q %q", genericKo, genericEn)
	}
}

func TestSubmitUser_InvalidParams_NamesTheField(t *testing.T) {
	e := newEnv(t)
	e.run.set(func(string, map[string]string) (window.Envelope, error) {
		return fail("INVALID_PARAMS", map[string]any{"missing": []string{"birth"}, "invalid": []string{"phone_number"}}), nil
	})
	c, token := e.open(tid)
	form := userForm(token)
	form.Set("phone_number", "0101234")
	res := e.post("/pay/"+tid+"/user", form, c)
	text := res.text(t)
	for _, s := range []string{"휴대폰 번호", "생년월일", "phone number", "date of birth"} {
		if !strings.Contains(text, "Check:") || !strings.Contains(text, s) {
			t.Errorf("the message does not name %q:\n%s", s, text)
		}
	}
	f := res.form(t, "/pay/"+tid+"/user")
	if attr(f.Inputs["phone_number"], "aria-invalid") != "true" || attr(f.Inputs["birth"], "aria-invalid") != "true" {
		t.Error("the bad fields are not marked")
	}
	if hasAttr(f.Inputs["name"], "aria-invalid") {
		t.Error("a good field is marked")
	}
}

func TestSubmitOTP_Mismatch_AttemptsLeft(t *testing.T) {
	for _, left := range []any{3, int64(3), float64(3)} {
		e := newEnv(t)
		otp, c, token := e.toOTPScreen()
		sealed := otp.form(t, "/pay/"+tid+"/resend").Hidden["sealed"]
		e.run.set(func(string, map[string]string) (window.Envelope, error) {
			return fail("OTP_MISMATCH", map[string]any{"ATTEMPTS_LEFT": left}), nil
		})
		res := e.post("/pay/"+tid+"/otp", url.Values{"csrf": {token}, "OTP": {theOTP}, "sealed": {sealed}}, c)
		text := res.text(t)
		if !strings.Contains(text, "남은 입력 횟수: 3회") || !strings.Contains(strings.ToLower(text), "attempts left: 3") {
			t.Errorf("%T: no attempts left:\n%s", left, text)
		}
		f := res.form(t, "/pay/"+tid+"/otp")
		if attr(f.Inputs["OTP"], "value") != "" || strings.Contains(res.Body, theOTP) {
			t.Error("the OTP is shown back")
		}
		if res.form(t, "/pay/"+tid+"/resend").Hidden["sealed"] != sealed {
			t.Error("the resend button lost its details")
		}
		if !strings.Contains(text, "2:59") && !strings.Contains(text, "3:00") {
			t.Errorf("the countdown is gone:\n%s", text)
		}
		calls := e.run.Calls()
		if last := calls[len(calls)-1]; last.Step != "otp_verify" || !maps.Equal(last.Params, map[string]string{"TID": tid, "OTP": theOTP}) {
			t.Errorf("call %+v", last)
		}
	}
}

func TestSubmitOTP_Success(t *testing.T) {
	tests := []struct {
		name, returnURL, location string
	}{
		{"plain", "https://shop.example/return", "https://shop.example/return?TID=" + tid + "&RESULT=SUCCESS"},
		{"keeps the merchant's query", "https://shop.example/return?order=1001&x=a%20b&e=",
			"https://shop.example/return?order=1001&x=a%20b&e=&TID=" + tid + "&RESULT=SUCCESS"},
		{"keeps the fragment", "http://shop.example:8080/r/?o=1#top",
			"http://shop.example:8080/r/?o=1&TID=" + tid + "&RESULT=SUCCESS#top"},
		{"no return URL", "", ""},
		{"not http", "ftp://shop.example/return", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.with(tid, func(p *payment.Payment) { p.ReturnURL = tt.returnURL })
			_, c, token := e.toOTPScreen()
			e.run.set(func(string, map[string]string) (window.Envelope, error) {
				return window.Envelope{Result: "SUCCESS", Code: "OK", TID: tid, Data: map[string]any{}}, nil
			})
			res := e.post("/pay/"+tid+"/otp", url.Values{"csrf": {token}, "OTP": {theOTP}}, c)
			if tt.location == "" {
				if res.StatusCode != 200 || res.Header.Get("Location") != "" {
					t.Fatalf("want the done page, got %d %q", res.StatusCode, res.Header.Get("Location"))
				}
				wantMessage(t, res, "DONE")
			} else if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != tt.location {
				t.Fatalf("got %d %q, want 303 %q", res.StatusCode, res.Header.Get("Location"), tt.location)
			}
			if strings.Contains(res.Body, theOTP) || strings.Contains(res.Header.Get("Location"), theOTP) {
				t.Error("the answer shows the OTP")
			}
		})
	}
}

func TestSubmitOTP_Locked_RedirectsWithFailure(t *testing.T) {
	for _, code := range []string{"OTP_LOCKED", "TOO_MANY_ATTEMPTS"} {
		t.Run(code, func(t *testing.T) {
			e := newEnv(t)
			e.with(tid, func(p *payment.Payment) { p.ReturnURL = "https://shop.example/return?o=1" })
			_, c, token := e.toOTPScreen()
			e.run.set(func(string, map[string]string) (window.Envelope, error) {
				return fail(code, map[string]any{"ATTEMPTS_LEFT": 0}), nil
			})
			res := e.post("/pay/"+tid+"/otp", url.Values{"csrf": {token}, "OTP": {theOTP}}, c)
			want := "https://shop.example/return?o=1&TID=" + tid + "&RESULT=FAIL&CODE=" + code
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
				t.Errorf("got %d %q, want 303 %q", res.StatusCode, res.Header.Get("Location"), want)
			}
		})
	}
}

func TestSubmit_AfterTheWindow_ShowsTheStatus(t *testing.T) {
	e := newEnv(t)
	_, c, token := e.toOTPScreen()
	e.with(tid, func(p *payment.Payment) { p.Status = payment.StatusVerified })
	n := len(e.run.Calls())
	res := e.post("/pay/"+tid+"/otp", url.Values{"csrf": {token}, "OTP": {theOTP}}, c)
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(res.Header.Get("Location"), "RESULT=SUCCESS") {
		t.Errorf("got %d %q, want a redirect", res.StatusCode, res.Header.Get("Location"))
	}
	if len(e.run.Calls()) != n {
		t.Error("a step ran on a verified payment")
	}
}

func TestResend(t *testing.T) {
	e := newEnv(t)
	otp, c, token := e.toOTPScreen()
	sealed := otp.form(t, "/pay/"+tid+"/resend").Hidden["sealed"]
	e.clock.Advance(time.Minute)
	res := e.post("/pay/"+tid+"/resend", url.Values{"csrf": {token}, "sealed": {sealed}}, c)
	if res.StatusCode != 200 || res.form(t, "/pay/"+tid+"/otp").Action == "" {
		t.Fatalf("want the OTP screen, got %d:\n%s", res.StatusCode, res.Body)
	}
	calls := e.run.Calls()
	want := map[string]string{"TID": tid, "name": userName, "phone_number": userPhone, "carrier": "SKT",
		"birth": userBirth, "gender": "M"}
	if len(calls) != 2 || calls[1].Step != "user_auth" || !maps.Equal(calls[1].Params, want) {
		t.Fatalf("calls %+v, want a second user_auth with %v", calls, want)
	}
	if again := res.form(t, "/pay/"+tid+"/resend").Hidden["sealed"]; again == "" || again == sealed {
		t.Error("want newly sealed details")
	}
	if !strings.Contains(res.text(t), "20:06:35") {
		t.Errorf("the countdown is not the new OTP's:\n%s", res.text(t))
	}
}

func TestResend_Failure_StaysOnTheOTPScreen(t *testing.T) {
	e := newEnv(t)
	otp, c, token := e.toOTPScreen()
	sealed := otp.form(t, "/pay/"+tid+"/resend").Hidden["sealed"]
	e.run.set(func(string, map[string]string) (window.Envelope, error) { return fail("SMS_NOT_DELIVERED", nil), nil })
	res := e.post("/pay/"+tid+"/resend", url.Values{"csrf": {token}, "sealed": {sealed}}, c)
	wantMessage(t, res, "SMS_NOT_DELIVERED")
	if res.form(t, "/pay/"+tid+"/resend").Hidden["sealed"] != sealed {
		t.Errorf("want the OTP screen with the same details:\n%s", res.Body)
	}
	e.run.set(func(string, map[string]string) (window.Envelope, error) { return fail("OTP_SEND_LIMIT", nil), nil })
	res = e.post("/pay/"+tid+"/resend", url.Values{"csrf": {token}, "sealed": {sealed}}, c)
	wantMessage(t, res, "OTP_SEND_LIMIT")
	if len(res.forms(t)) != 0 {
		t.Error("want the error page")
	}
}

func TestResend_BadDetails_Rejected(t *testing.T) {
	e := newEnv(t)
	otp, c, token := e.toOTPScreen()
	sealed := otp.form(t, "/pay/"+tid+"/resend").Hidden["sealed"]

	// The same details, sealed for another TID.
	e.with(otherTID, func(p *payment.Payment) { p.Status = payment.StatusUserAuthed })
	oc, otoken := e.open(otherTID)

	flip := []byte(sealed)
	flip[len(flip)/2] ^= 'A' ^ 'B'
	if flip[len(flip)/2] == sealed[len(sealed)/2] {
		t.Fatal("no flip")
	}
	tests := []struct {
		name, tid, sealed, token string
		cookie                   *http.Cookie
		advance                  time.Duration
	}{
		{"missing", tid, "", token, c, 0},
		{"tampered", tid, string(flip), token, c, 0},
		{"truncated", tid, sealed[:len(sealed)-4], token, c, 0},
		{"not base64", tid, "!!!" + sealed, token, c, 0},
		{"another TID's", otherTID, sealed, otoken, oc, 0},
		{"expired", tid, sealed, token, c, 11 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(tt.advance)
			defer e.clock.Advance(-tt.advance)
			e.with(tt.tid, func(p *payment.Payment) { p.ExpiresAt = t0.Add(time.Hour) })
			n := len(e.run.Calls())
			res := e.post("/pay/"+tt.tid+"/resend", url.Values{"csrf": {tt.token}, "sealed": {tt.sealed}}, tt.cookie)
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", res.StatusCode)
			}
			wantMessage(t, res, "DETAILS_EXPIRED")
			if res.form(t, "/pay/"+tt.tid+"/user").Action == "" {
				t.Error("want the user form")
			}
			if len(e.run.Calls()) != n {
				t.Error("a step ran")
			}
		})
	}
}

func TestCSRF_Rejected(t *testing.T) {
	e := newEnv(t)
	e.with(tid, func(p *payment.Payment) { p.Status, p.Phone = payment.StatusUserAuthed, userPhone })
	c, token := e.open(tid)
	oc, otoken := e.open(otherTID)
	stranger := &http.Cookie{Name: c.Name, Value: strings.Repeat("A", len(c.Value))}
	misnamed := &http.Cookie{Name: "tuna_pay_" + otherTID, Value: c.Value}
	tests := []struct {
		name   string
		token  string
		cookie *http.Cookie
	}{
		{"no token", "", c},
		{"wrong token", strings.Repeat("x", len(token)), c},
		{"another TID's token and cookie", otoken, &http.Cookie{Name: c.Name, Value: oc.Value}},
		{"another TID's token", otoken, c},
		{"no cookie", token, nil},
		{"another browser's cookie", token, stranger},
		{"another TID's cookie", token, misnamed},
		{"malformed cookie", token, &http.Cookie{Name: c.Name, Value: "x"}},
	}
	for _, path := range []string{"/user", "/otp", "/resend"} {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				form := userForm(tt.token)
				form.Set("OTP", theOTP)
				if tt.token == "" {
					form.Del("csrf")
				}
				var cookies []*http.Cookie
				if tt.cookie != nil {
					cookies = append(cookies, tt.cookie)
				}
				res := e.post("/pay/"+tid+path, form, cookies...)
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("status %d, want 403", res.StatusCode)
				}
				wantMessage(t, res, "CSRF_FAILED")
				if n := len(e.run.Calls()); n != 0 {
					t.Errorf("%d steps ran", n)
				}
			})
		}
	}
	// The genuine token passes.
	res := e.post("/pay/"+tid+"/otp", url.Values{"csrf": {token}, "OTP": {theOTP}}, c)
	if res.StatusCode == http.StatusForbidden || len(e.run.Calls()) != 1 {
		t.Errorf("the genuine token was refused: %d", res.StatusCode)
	}
}

func TestCSRF_Cookie(t *testing.T) {
	e := newEnv(t)
	res := e.get("/pay/" + tid)
	c := res.cookie(tid)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/pay/"+tid || c.Secure {
		t.Fatalf("cookie %+v", c)
	}
	// The same window keeps its cookie and token.
	again := e.get("/pay/"+tid, c)
	if again.cookie(tid) != nil || again.form(t, "").Hidden["csrf"] != res.form(t, "").Hidden["csrf"] {
		t.Error("a window with a cookie got a new one")
	}
	req := httptest.NewRequest(http.MethodGet, "/pay/"+tid, nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	if c := e.do(req).cookie(tid); c == nil || !c.Secure {
		t.Errorf("over HTTPS: cookie %+v, want Secure", c)
	}
}

func TestEscaping(t *testing.T) {
	e := newEnv(t)
	e.with(tid, func(p *payment.Payment) { p.ProductName = `<script>alert(1)</script>"'&` })
	res := e.get("/pay/" + tid)
	if strings.Contains(res.Body, "<script>alert") {
		t.Fatal("the product name is not escaped")
	}
	if !strings.Contains(res.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the escaped product name is missing:\n%s", res.Body)
	}
	if !strings.Contains(res.text(t), `<script>alert(1)</script>"'&`) {
		t.Error("the product name does not read back as typed")
	}

	// What the user typed comes back escaped too.
	e.run.set(func(string, map[string]string) (window.Envelope, error) { return fail("INVALID_PARAMS", nil), nil })
	c, token := e.open(tid)
	form := userForm(token)
	form.Set("name", `"><script>alert(2)</script>`)
	res = e.post("/pay/"+tid+"/user", form, c)
	if strings.Contains(res.Body, "<script>alert(2)") {
		t.Error("the user's input is not escaped")
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	otp, c, token := e.toOTPScreen()
	pages := map[string]*response{
		"form":     e.get("/pay/" + otherTID),
		"otp":      otp,
		"error":    e.get("/pay/01KBZ8Q6W2X9Y3V4T5S6R7P8NZ"),
		"csrf":     e.post("/pay/"+tid+"/otp", url.Values{"csrf": {"x"}}, c),
		"notfound": e.get("/elsewhere"),
	}
	for name, res := range pages {
		h := res.Header
		if h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" ||
			h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", name, h)
		}
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "style-src 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", name, csp, d)
			}
		}
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type %q", name, h.Get("Content-Type"))
		}
		walk(res.doc(t), func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			if src := attr(n, "src") + attr(n, "href"); (n.Data == "link" || n.Data == "script" || n.Data == "img") &&
				src != "" && !strings.HasPrefix(src, "/pay/assets/") {
				t.Errorf("%s: an external resource %q", name, src)
			}
		})
	}

	// The OTP screen's inline script runs by the response's nonce, and forms
	// may be answered with a redirect to the merchant.
	csp := otp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'self' 'nonce-([A-Za-z0-9_-]{16,})'`).FindStringSubmatch(csp)
	if m == nil {
		t.Fatalf("CSP %q has no script nonce", csp)
	}
	var scripts int
	walk(otp.doc(t), func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" {
			scripts++
			if attr(n, "nonce") != m[1] || attr(n, "src") != "" {
				t.Errorf("script nonce %q, want %q", attr(n, "nonce"), m[1])
			}
		}
	})
	if scripts != 1 {
		t.Errorf("%d scripts, want the countdown", scripts)
	}
	if !strings.Contains(csp, "form-action 'self' https://shop.example") {
		t.Errorf("CSP %q: form-action lacks the merchant", csp)
	}
	if other := e.get("/pay/" + tid).Header.Get("Content-Security-Policy"); strings.Contains(other, m[1]) {
		t.Error("the nonce is reused")
	}

	// A redirect carries them too.
	e.run.set(func(string, map[string]string) (window.Envelope, error) {
		return window.Envelope{Result: "SUCCESS", Code: "OK"}, nil
	})
	res := e.post("/pay/"+tid+"/otp", url.Values{"csrf": {token}, "OTP": {theOTP}}, c)
	if res.StatusCode != 303 || res.Header.Get("X-Frame-Options") != "DENY" || res.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("redirect %d headers %v", res.StatusCode, res.Header)
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t)
	var css string
	walk(e.get("/pay/"+tid).doc(t), func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "link" && attr(n, "rel") == "stylesheet" {
			css = attr(n, "href")
		}
	})
	if !strings.HasPrefix(css, "/pay/assets/style.css?v=") {
		t.Fatalf("stylesheet %q", css)
	}
	res := e.get(css)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") ||
		!strings.Contains(res.Header.Get("Cache-Control"), "max-age=31536000") || res.Header.Get("ETag") == "" {
		t.Fatalf("GET %s: %d %v", css, res.StatusCode, res.Header)
	}
	if strings.Contains(res.Body, "@import") || strings.Contains(res.Body, "url(") {
		t.Error("the stylesheet loads something else")
	}
	req := httptest.NewRequest(http.MethodGet, css, nil)
	req.Header.Set("If-None-Match", res.Header.Get("ETag"))
	if got := e.do(req).StatusCode; got != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", got)
	}
	if got := e.get("/pay/assets/style.css").Header.Get("Cache-Control"); strings.Contains(got, "immutable") {
		t.Errorf("an unversioned URL is cached for good: %q", got)
	}
	if got := e.get("/pay/assets/nothing.css").StatusCode; got != 404 {
		t.Errorf("unknown asset: %d", got)
	}
}

// No OTP, name, phone number or birth date is ever logged, even when
// things go wrong.
func TestLogs_NoSecrets(t *testing.T) {
	e := newEnv(t)
	otp, c, token := e.toOTPScreen()
	sealed := otp.form(t, "/pay/"+tid+"/resend").Hidden["sealed"]
	e.run.set(func(string, map[string]string) (window.Envelope, error) {
		return window.Envelope{}, errors.New("store unavailable")
	})
	res := e.post("/pay/"+tid+"/otp", url.Values{"csrf": {token}, "OTP": {theOTP}, "sealed": {sealed}}, c)
	wantMessage(t, res, "INTERNAL_ERROR")
	e.post("/pay/"+tid+"/resend", url.Values{"csrf": {token}, "sealed": {sealed}}, c)
	e.post("/pay/"+tid+"/otp", url.Values{"csrf": {"forged"}, "OTP": {theOTP}}, c)
	if e.logs.Len() == 0 {
		t.Fatal("nothing logged")
	}
	for _, entry := range e.logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		for _, secret := range []string{theOTP, userPhone, userName, userBirth, sealed} {
			if strings.Contains(line, secret) {
				t.Errorf("log %q holds %q", line, secret)
			}
		}
	}
}

// The whole window against a real listening server, with a browser's
// cookie jar.
func TestServer_FullFlow(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(method, path string, form url.Values) *response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return &response{Response: res, Body: string(body)}
	}

	e.run.set(func(step string, params map[string]string) (window.Envelope, error) {
		switch {
		case step == "user_auth":
			e.with(tid, func(p *payment.Payment) { p.Status, p.Phone = payment.StatusUserAuthed, params["phone_number"] })
			return userAuthOK(e.clock.Now()), nil
		case params["OTP"] == theOTP:
			e.with(tid, func(p *payment.Payment) { p.Status = payment.StatusVerified })
			return window.Envelope{Result: "SUCCESS", Code: "OK", TID: tid}, nil
		}
		return fail("OTP_MISMATCH", map[string]any{"ATTEMPTS_LEFT": 4}), nil
	})

	page := fetch(http.MethodGet, "/pay/"+tid, nil)
	form := page.form(t, "/pay/"+tid+"/user")
	otp := fetch(http.MethodPost, form.Action, userForm(form.Hidden["csrf"]))
	verify := otp.form(t, "/pay/"+tid+"/otp")
	wrong := fetch(http.MethodPost, verify.Action, url.Values{"csrf": {verify.Hidden["csrf"]}, "OTP": {"000000"}, "sealed": {verify.Hidden["sealed"]}})
	if !strings.Contains(wrong.text(t), "Attempts left: 4") {
		t.Fatalf("wrong OTP: %s", wrong.text(t))
	}
	verify = wrong.form(t, "/pay/"+tid+"/otp")
	done := fetch(http.MethodPost, verify.Action, url.Values{"csrf": {verify.Hidden["csrf"]}, "OTP": {theOTP}})
	if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != "https://shop.example/return?TID="+tid+"&RESULT=SUCCESS" {
		t.Fatalf("got %d %q", done.StatusCode, done.Header.Get("Location"))
	}
	// Reopening the window goes back to the merchant too.
	if again := fetch(http.MethodGet, "/pay/"+tid, nil); again.StatusCode != http.StatusSeeOther {
		t.Errorf("reopened: %d", again.StatusCode)
	}
	if n := len(e.run.Calls()); n != 3 {
		t.Errorf("%d steps, want 3", n)
	}
}

// Only a sealed blob the window made ever runs a resend.
func FuzzResend(f *testing.F) {
	e := newEnv(f)
	otp, c, token := e.toOTPScreen()
	sealed := otp.form(f, "/pay/"+tid+"/resend").Hidden["sealed"]
	f.Add(sealed)
	f.Add(sealed[:len(sealed)-1] + "A")
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, blob string) {
		n := len(e.run.Calls())
		res := e.post("/pay/"+tid+"/resend", url.Values{"csrf": {token}, "sealed": {blob}}, c)
		ran := len(e.run.Calls()) > n
		if ran != (res.StatusCode == http.StatusOK) {
			t.Fatalf("status %d, step ran %v", res.StatusCode, ran)
		}
		if ran {
			last := e.run.Calls()[n]
			if last.Params["phone_number"] != userPhone || last.Params["name"] != userName {
				t.Fatalf("a resend ran with %v", last.Params)
			}
		}
	})
}

// Whatever the ledger holds as RETURN_URL, only http(s) is redirected to.
func FuzzReturnURL(f *testing.F) {
	for _, s := range []string{"https://shop.example/r?a=1", "javascript:alert(1)", "//evil.example", "data:text/html,x",
		"http://a b", "HTTPS://SHOP.EXAMPLE/", "https:opaque", "/relative", " https://x.example"} {
		f.Add(s)
	}
	e := newEnv(f)
	f.Fuzz(func(t *testing.T, raw string) {
		e.with(tid, func(p *payment.Payment) { p.Status, p.ReturnURL = payment.StatusVerified, raw })
		res := e.get("/pay/" + tid)
		loc := res.Header.Get("Location")
		if res.StatusCode == http.StatusSeeOther {
			u, err := url.Parse(loc)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("redirected to %q for %q", loc, raw)
			}
		} else if loc != "" || res.StatusCode != 200 {
			t.Fatalf("%d %q for %q", res.StatusCode, loc, raw)
		}
	})
}

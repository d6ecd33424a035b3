package shop_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tunapay/tuna/examples/demoshop/shop"
)

// fakeTUNA is a stand-in for TUNA's merchant API that records every step
// the shop sends and answers what the test sets.
type fakeTUNA struct {
	*httptest.Server
	mu      sync.Mutex
	n       int
	steps   map[string][]url.Values // by step: payment/bill, …
	answers map[string]string       // by step: a JSON envelope (cp_auth answers itself)
	status  string                  // what the lookup API says of every payment
	fail    string                  // …and its fail_code
}

const (
	cpID  = "demo"
	cpPwd = "demo1234"
	paid  = `{"result":"SUCCESS","code":"OK","tid":"%s","data":{"AMOUNT":5000,"STATUS":"PAID"}}`
)

func newFakeTUNA(t *testing.T) *fakeTUNA {
	f := &fakeTUNA{steps: map[string][]url.Values{}, status: "READY", answers: map[string]string{
		"payment/bill":  paid,
		"cancel/cancel": `{"result":"SUCCESS","code":"OK","tid":"%s","data":{"TYPE":"CANCEL","STATUS":"CANCELLED"}}`,
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tx/{protocol}/{step}", f.step)
	mux.HandleFunc("GET /v1/payments/{tid}", f.lookup)
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTUNA) step(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("protocol") + "/" + r.PathValue("step")
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps[name] = append(f.steps[name], r.PostForm)
	if r.PostForm.Get("CP_ID") != cpID || r.PostForm.Get("CP_PWD") != cpPwd {
		io.WriteString(w, `{"result":"FAIL","code":"CP_AUTH_FAILED","data":{}}`)
		return
	}
	if name == "payment/cp_auth" && f.answers[name] == "" {
		f.n++
		tid := fmt.Sprintf("01TESTTID%017d", f.n)
		fmt.Fprintf(w, `{"result":"SUCCESS","code":"OK","tid":%q,"data":{"TID":%q,"PAY_URL":%q}}`, tid, tid, f.URL+"/pay/"+tid)
		return
	}
	fmt.Fprintf(w, f.answers[name], r.PostForm.Get("TID")+r.PostForm.Get("O_TID"))
}

func (f *fakeTUNA) lookup(w http.ResponseWriter, r *http.Request) {
	if u, p, _ := r.BasicAuth(); u != cpID || p != cpPwd {
		http.Error(w, `{"code":"UNAUTHORIZED"}`, http.StatusUnauthorized)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]string{"tid": r.PathValue("tid"), "status": f.status, "fail_code": f.fail})
}

func (f *fakeTUNA) answer(step, envelope string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[step] = envelope
}

func (f *fakeTUNA) lookupSays(status, failCode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.fail = status, failCode
}

// sent is what the shop sent for step so far.
func (f *fakeTUNA) sent(step string) []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.steps[step]...)
}

// shopRig is a shop over a fake TUNA, driven through its handler.
type shopRig struct {
	t    *testing.T
	tuna *fakeTUNA
	h    http.Handler
}

const (
	shopURL = "http://shop.test"
	secret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
)

func newShopRig(t *testing.T) *shopRig {
	f := newFakeTUNA(t)
	s := shop.New(shop.Options{TUNA: f.URL, CPID: cpID, CPPassword: cpPwd, WebhookSecret: secret, PublicURL: shopURL})
	return &shopRig{t: t, tuna: f, h: s.Handler()}
}

func (r *shopRig) do(method, path string, form url.Values, header http.Header, body string) *httptest.ResponseRecorder {
	r.t.Helper()
	if form != nil {
		body = form.Encode()
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	return w
}

// buy orders product and returns the order id and TID the shop registered.
func (r *shopRig) buy(product string) (string, string) {
	r.t.Helper()
	w := r.do("POST", "/orders", url.Values{"product": {product}}, nil, "")
	if w.Code != http.StatusSeeOther {
		r.t.Fatalf("POST /orders: %d %s", w.Code, w.Body)
	}
	auths := r.tuna.sent("payment/cp_auth")
	tid := strings.TrimPrefix(w.Header().Get("Location"), r.tuna.URL+"/pay/")
	return auths[len(auths)-1].Get("ORDER_ID"), tid
}

var (
	statusAttr = regexp.MustCompile(`data-status="([^"]*)"`)
	codeElem   = regexp.MustCompile(`<code id="code">([^<]*)</code>`)
)

// order reads the order page: the status and the failure code.
func (r *shopRig) order(id string) (status, code string) {
	r.t.Helper()
	w := r.do("GET", "/orders/"+id, nil, nil, "")
	m := statusAttr.FindStringSubmatch(w.Body.String())
	if w.Code != http.StatusOK || m == nil {
		r.t.Fatalf("GET /orders/%s: %d %s", id, w.Code, w.Body)
	}
	if c := codeElem.FindStringSubmatch(w.Body.String()); c != nil {
		code = c[1]
	}
	return m[1], code
}

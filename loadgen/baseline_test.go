package loadgen

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/session"
)

// paymentWorld is a real payment.Service over bbolt in t.TempDir() and the
// carrier simulator in this process, served as the bench server serves
// it: the baseline, the floor and the sandbox SMS inbox.
func paymentWorld(t *testing.T) (*payment.Service, *httptest.Server) {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "payment.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	carrier, err := sim.New(&sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := payment.New(payment.Options{Store: store, Carrier: carrier, Key: []byte(strings.Repeat("k", 32)),
		CarrierSettle: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureDemoMerchant(context.Background()); err != nil {
		t.Fatal(err)
	}
	sessions, err := session.OpenBolt(filepath.Join(t.TempDir(), "sessions.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sessions.Close() })
	mux := http.NewServeMux()
	mux.Handle("/baseline/", BaselineHandler(svc))
	mux.Handle("/baseline-session/", SessionBaselineHandler(svc, sessions))
	mux.Handle(FloorPath, FloorHandler())
	mux.Handle("/sandbox/", svc.Handler(true))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		_ = carrier.Close()
		_ = store.Close()
	})
	return svc, srv
}

// The generator drives the baseline for a second: every flow is paid and
// cancelled in the ledger, and no phone number is charged twice.
func TestBaseline_DrivenByGenerator(t *testing.T) {
	svc, srv := paymentWorld(t)
	o := Options{URL: srv.URL, Prefix: "/baseline", Concurrency: 8, Duration: time.Second,
		Warmup: 200 * time.Millisecond, Cancel: true}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Flows == 0 || res.FailedFlows != 0 || len(res.Errors) != 0 {
		t.Fatalf("flows %d failed %d errors %v", res.Flows, res.FailedFlows, res.Errors)
	}
	payments, err := svc.Store().Payments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	phones := map[string]bool{}
	for _, p := range payments {
		if p.Status != payment.StatusCancelled || p.Amount != 1000 || phones[p.Phone] {
			t.Fatalf("payment %s: %s %d KRW, phone seen %v", p.TID, p.Status, p.Amount, phones[p.Phone])
		}
		phones[p.Phone] = true
	}
	if int64(len(payments)) < res.Flows {
		t.Fatalf("%d payments in the ledger, %d flows counted", len(payments), res.Flows)
	}
}

// The baseline answers like TUNA's endpoints: the envelope, the codes, the
// statuses.
func TestBaseline_Scenarios(t *testing.T) {
	_, srv := paymentWorld(t)
	post := func(path string, form url.Values) (int, map[string]any) {
		t.Helper()
		return postForm(t, srv.URL+path, form)
	}
	cp := url.Values{"CP_ID": {"demo"}, "CP_PWD": {"demo1234"}, "P_ID": {"p"}, "P_NAME": {"Tea"}, "P_PRICE": {"5000"}}
	_, env := post("/baseline/payment/cp_auth", cp)
	tid, _ := env["tid"].(string)
	if env["result"] != "SUCCESS" || len(tid) != 26 || env["data"].(map[string]any)["TID"] != tid {
		t.Fatalf("cp_auth %v", env)
	}
	user := url.Values{"TID": {tid}, "name": {"홍길동"}, "phone_number": {"01012345678"}, "carrier": {"KT"},
		"birth": {"19900101"}, "gender": {"F"}}
	tests := []struct {
		name, path string
		form       url.Values
		status     int
		code       string
		data       map[string]any
	}{
		{"wrong password", "/baseline/payment/cp_auth", with(cp, "CP_PWD", "nope"), 200, "CP_AUTH_FAILED", nil},
		{"missing and invalid", "/baseline/payment/cp_auth", with(with(cp, "P_ID", ""), "P_PRICE", "0"), 400, "INVALID_PARAMS",
			map[string]any{"missing": []any{"P_ID"}, "invalid": []any{"P_PRICE"}}},
		{"unknown TID", "/baseline/payment/user_auth", with(user, "TID", "01KAAAAAAAAAAAAAAAAAAAAAAA"), 404, "TID_NOT_FOUND", nil},
		{"otp before user_auth", "/baseline/payment/otp_verify", url.Values{"TID": {tid}, "OTP": {"123456"}}, 200, "OTP_NOT_SENT", nil},
		{"user_auth", "/baseline/payment/user_auth", user, 200, "OK", map[string]any{"PHONE": "010****5678"}},
		{"bill before otp", "/baseline/payment/bill", url.Values{"TID": {tid}, "CP_ID": {"demo"}, "CP_PWD": {"demo1234"},
			"AMOUNT": {"5000"}}, 200, "NOT_VERIFIED", nil},
		{"blocked carrier", "/baseline/payment/user_auth", with(user, "phone_number", "01099990001"), 200, "CARRIER_IDENTITY_MISMATCH", nil},
		{"not found", "/baseline/payment/nope", url.Values{}, 404, "NOT_FOUND", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, env := post(tt.path, tt.form)
			if status != tt.status || env["code"] != tt.code {
				t.Fatalf("%d %v, want %d %s", status, env, tt.status, tt.code)
			}
			for k, v := range tt.data {
				got, _ := json.Marshal(env["data"].(map[string]any)[k])
				want, _ := json.Marshal(v)
				if string(got) != string(want) {
					t.Errorf("data.%s = %s, want %s", k, got, want)
				}
			}
		})
	}
	// A wrong OTP, then the right one, then the bill.
	_, env = post("/baseline/payment/user_auth", user)
	otp := lastOTP(t, srv.URL, "01012345678")
	wrong := "000000"
	if otp == wrong {
		wrong = "000001"
	}
	if _, env = post("/baseline/payment/otp_verify", url.Values{"TID": {tid}, "OTP": {wrong}}); env["code"] != "OTP_MISMATCH" ||
		env["data"].(map[string]any)["ATTEMPTS_LEFT"] != float64(4) {
		t.Fatalf("wrong OTP %v", env)
	}
	if _, env = post("/baseline/payment/otp_verify", url.Values{"TID": {tid}, "OTP": {otp}}); env["code"] != "OK" {
		t.Fatalf("right OTP %v", env)
	}
	bill := url.Values{"TID": {tid}, "CP_ID": {"demo"}, "CP_PWD": {"demo1234"}, "AMOUNT": {"4000"}}
	if _, env = post("/baseline/payment/bill", bill); env["code"] != "AMOUNT_MISMATCH" {
		t.Fatalf("wrong amount %v", env)
	}
	if _, env = post("/baseline/payment/bill", with(bill, "AMOUNT", "5000")); env["code"] != "OK" ||
		env["data"].(map[string]any)["STATUS"] != "PAID" {
		t.Fatalf("bill %v", env)
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for key, vals := range v {
		out[key] = vals
	}
	out.Set(k, val)
	return out
}

func lastOTP(t *testing.T, base, phone string) string {
	t.Helper()
	res, err := http.Get(base + "/sandbox/sms/" + phone)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sms struct{ OTP string }
	if err := json.NewDecoder(res.Body).Decode(&sms); err != nil || len(sms.OTP) != 6 {
		t.Fatalf("sms: %v %q", err, sms.OTP)
	}
	return sms.OTP
}

func TestFloorHandler(t *testing.T) {
	h := FloorHandler()
	for _, tt := range []struct {
		method string
		status int
		code   string
	}{{http.MethodPost, 200, "OK"}, {http.MethodGet, 405, "METHOD_NOT_ALLOWED"}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, FloorPath, strings.NewReader("TID=x")))
		var env map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != tt.status || env["code"] != tt.code ||
			rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %s", tt.method, rec.Code, rec.Body)
		}
	}
}

// The session baseline keeps the flow in the session table as TUNA does: the
// generator's flows all pay, a step out of order is refused before the
// ledger is touched, and an unknown TID is not found.
func TestSessionBaseline(t *testing.T) {
	svc, srv := paymentWorld(t)
	res, err := Run(context.Background(), Options{URL: srv.URL, Prefix: SessionBaselinePrefix, Concurrency: 4,
		Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Flows == 0 || res.FailedFlows != 0 || len(res.Errors) != 0 {
		t.Fatalf("flows %d failed %d errors %v", res.Flows, res.FailedFlows, res.Errors)
	}
	post := func(path string, form url.Values) (int, any) {
		t.Helper()
		status, env := postForm(t, srv.URL+SessionBaselinePrefix+path, form)
		return status, env["code"]
	}
	_, env := postForm(t, srv.URL+SessionBaselinePrefix+"/payment/cp_auth", url.Values{"CP_ID": {"demo"},
		"CP_PWD": {"demo1234"}, "P_ID": {"p"}, "P_NAME": {"Tea"}, "P_PRICE": {"5000"}})
	tid, _ := env["tid"].(string)
	if env["code"] != "OK" || len(tid) != 26 {
		t.Fatalf("cp_auth %v", env)
	}
	if status, code := post("/payment/otp_verify", url.Values{"TID": {tid}, "OTP": {"123456"}}); status != 409 || code != "STEP_OUT_OF_ORDER" {
		t.Fatalf("otp_verify before user_auth: %d %v", status, code)
	}
	if status, code := post("/payment/user_auth", url.Values{"TID": {"01KAAAAAAAAAAAAAAAAAAAAAAA"}, "name": {"홍길동"},
		"phone_number": {"01012345678"}, "carrier": {"KT"}, "birth": {"19900101"}, "gender": {"F"}}); status != 404 || code != "TID_NOT_FOUND" {
		t.Fatalf("unknown TID: %d %v", status, code)
	}
	v, err := svc.Lookup(context.Background(), "demo", tid)
	if err != nil || v.Status != payment.StatusReady {
		t.Fatalf("the refused step touched the ledger: %+v %v", v, err)
	}
}

// postForm posts form to u and decodes the envelope it answers.
func postForm(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	res, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, env
}

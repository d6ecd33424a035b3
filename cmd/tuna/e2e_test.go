package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/session"
)

// live is a whole server wired as `tuna serve`, listening on loopback.
type live struct {
	t    *testing.T
	base string
	logs *observer.ObservedLogs
	data string
	stop func()
}

func startLive(t *testing.T) *live { return startLiveWith(t) }

func startLiveWith(t *testing.T, tweak ...func(*config)) *live {
	t.Helper()
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.Listen, cfg.AdminListen, cfg.Data = "127.0.0.1:0", "127.0.0.1:0", dir
	cfg.Scripts, cfg.Protocols, cfg.Watch = "../../scripts", "../../protocols", false
	for _, f := range tweak {
		f(&cfg)
	}
	pr, pw := io.Pipe()
	json := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(pw), zap.InfoLevel)
	obs, logs := observer.New(zap.DebugLevel)
	log := zap.New(zapcore.NewTee(json, obs))
	store, err := session.OpenBolt(filepath.Join(dir, "sessions.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveWith(ctx, cfg, log, store); pw.Close() }()
	addr := readyAddr(t, pr)
	go io.Copy(io.Discard, pr)
	l := &live{t: t, base: "http://" + addr, logs: logs, data: dir}
	var once sync.Once
	l.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			store.Close()
		})
	}
	t.Cleanup(l.stop)
	return l
}

func readyAddr(t *testing.T, r io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "ready to serve" {
			return line["listen"].(string)
		}
	}
	t.Fatal("no ready line")
	return ""
}

// step posts a step and returns its envelope.
func (l *live) step(path string, kv ...string) map[string]any {
	l.t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	resp, err := http.PostForm(l.base+"/tx/"+path, form)
	if err != nil {
		l.t.Fatalf("%s: %v", path, err)
	}
	return decode(l.t, resp)
}

func (l *live) get(path, user, pass string) (int, map[string]any) {
	l.t.Helper()
	req, _ := http.NewRequest("GET", l.base+path, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	return resp.StatusCode, decode(l.t, resp)
}

func decode(t *testing.T, resp *http.Response) map[string]any {
	t.Helper()
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: %v", resp.Request.URL, err)
	}
	return m
}

func expect(t *testing.T, env map[string]any, result, code string) map[string]any {
	t.Helper()
	if env["result"] != result || env["code"] != code {
		t.Fatalf("got %v, want %s %s", env, result, code)
	}
	data, _ := env["data"].(map[string]any)
	return data
}

const demo = "CP_ID=demo"

// register runs cp_auth and user_auth for phone and returns the TID.
func (l *live) register(phone, price, order string) string {
	l.t.Helper()
	data := expect(l.t, l.step("payment/cp_auth", "CP_ID", "demo", "CP_PWD", "demo1234", "P_ID", "tea", "P_NAME", "Green tea",
		"P_PRICE", price, "ORDER_ID", order), "SUCCESS", "OK")
	return data["TID"].(string)
}

func (l *live) userAuth(tid, phone string) map[string]any {
	return l.step("payment/user_auth", "TID", tid, "name", "홍길동", "phone_number", phone, "carrier", "SKT",
		"birth", "19900101", "gender", "M")
}

func (l *live) otp(phone string) string {
	l.t.Helper()
	code, sms := l.get("/sandbox/sms/"+phone, "", "")
	if code != 200 {
		l.t.Fatalf("sandbox sms: %d %v", code, sms)
	}
	return sms["otp"].(string)
}

// verified walks a payment to VERIFIED and returns its TID and OTP.
func (l *live) verified(phone, price, order string) (string, string) {
	l.t.Helper()
	tid := l.register(phone, price, order)
	expect(l.t, l.userAuth(tid, phone), "SUCCESS", "OK")
	otp := l.otp(phone)
	expect(l.t, l.step("payment/otp_verify", "TID", tid, "OTP", otp), "SUCCESS", "OK")
	return tid, otp
}

func (l *live) bill(tid, amount string) map[string]any {
	return l.step("payment/bill", "TID", tid, "CP_ID", "demo", "CP_PWD", "demo1234", "AMOUNT", amount)
}

func TestE2E_PaymentFlow(t *testing.T) {
	l := startLive(t)
	const phone = "01024681357"
	tid := l.register(phone, "5000", "order-1001")
	data := expect(t, l.userAuth(tid, phone), "SUCCESS", "OK")
	if data["PHONE"] != "010****1357" || data["OTP_EXPIRES_AT"] == "" {
		t.Fatalf("user_auth data %v", data)
	}
	otp := l.otp(phone)
	wrong := fmt.Sprintf("%06d", (atoi(otp)+1)%1_000_000)
	data = expect(t, l.step("payment/otp_verify", "TID", tid, "OTP", wrong), "FAIL", "OTP_MISMATCH")
	if data["ATTEMPTS_LEFT"] != float64(4) {
		t.Fatalf("attempts left %v", data)
	}
	expect(t, l.step("payment/otp_verify", "TID", tid, "OTP", otp), "SUCCESS", "OK")
	expect(t, l.bill(tid, "4999"), "FAIL", "AMOUNT_MISMATCH")
	data = expect(t, l.bill(tid, "5000"), "SUCCESS", "OK")
	if data["STATUS"] != "PAID" || data["AMOUNT"] != float64(5000) || data["PAID_AT"] == "" {
		t.Fatalf("bill data %v", data)
	}
	if again := expect(t, l.bill(tid, "5000"), "SUCCESS", "OK"); again["PAID_AT"] != data["PAID_AT"] {
		t.Fatalf("a repeated bill answered differently: %v", again)
	}

	data = expect(t, l.step("cancel/cancel", "CP_ID", "demo", "CP_PWD", "demo1234", "O_TID", tid, "AMOUNT", "2000",
		"REASON", "one returned", "IDEMPOTENCY_KEY", "ret-1"), "SUCCESS", "OK")
	if data["TYPE"] != "CANCEL" || data["CANCELLED_AMOUNT"] != float64(2000) || data["REMAINING_AMOUNT"] != float64(3000) ||
		data["STATUS"] != "PARTIAL_CANCELLED" {
		t.Fatalf("partial cancel %v", data)
	}
	expect(t, l.step("cancel/cancel", "CP_ID", "demo", "CP_PWD", "demo1234", "O_TID", tid, "AMOUNT", "2000",
		"IDEMPOTENCY_KEY", "ret-1"), "SUCCESS", "OK")
	data = expect(t, l.step("cancel/cancel", "CP_ID", "demo", "CP_PWD", "demo1234", "O_TID", tid), "SUCCESS", "OK")
	if data["CANCELLED_AMOUNT"] != float64(3000) || data["STATUS"] != "CANCELLED" {
		t.Fatalf("second cancel %v", data)
	}
	expect(t, l.step("cancel/cancel", "CP_ID", "demo", "CP_PWD", "demo1234", "O_TID", tid), "FAIL", "ALREADY_CANCELLED")
	expect(t, l.step("cancel/cancel", "CP_ID", "demo", "CP_PWD", "nope", "O_TID", tid), "FAIL", "CP_AUTH_FAILED")

	code, view := l.get("/v1/payments/"+tid, "demo", "demo1234")
	cancels, _ := view["cancels"].([]any)
	if code != 200 || view["status"] != "CANCELLED" || view["cancelled_amount"] != float64(5000) || view["order_id"] != "order-1001" ||
		view["phone"] != "010****1357" || len(cancels) != 2 {
		t.Fatalf("lookup %d %v", code, view)
	}
	if code, byOrder := l.get("/v1/payments?order_id=order-1001", "demo", "demo1234"); code != 200 || byOrder["tid"] != tid {
		t.Fatalf("lookup by order %d %v", code, byOrder)
	}
	if code, _ := l.get("/v1/payments/"+tid, "demo", "wrong"); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	l.secretsStayOut(otp, wrong, phone, "demo1234", "19900101")
}

// No log line carries an OTP, a full phone number, a password or a birth date.
func (l *live) secretsStayOut(secrets ...string) {
	l.t.Helper()
	for _, e := range l.logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		line := e.Message + " " + string(b)
		for _, s := range secrets {
			if strings.Contains(line, s) {
				l.t.Errorf("%q reached the log: %s", s, line)
			}
		}
	}
}

func TestE2E_SandboxTestNumbers(t *testing.T) {
	l := startLive(t)
	tests := []struct {
		phone, step, code string
	}{
		{"01099990001", "user_auth", "CARRIER_IDENTITY_MISMATCH"},
		{"01099990002", "user_auth", "RM_BLOCKED"},
		{"01099990003", "user_auth", "SMS_NOT_DELIVERED"},
		{"01099990004", "bill", "BILL_DECLINED"},
	}
	for _, tt := range tests {
		t.Run(tt.phone, func(t *testing.T) {
			l.t = t
			if tt.step == "user_auth" {
				expect(t, l.userAuth(l.register(tt.phone, "1000", ""), tt.phone), "FAIL", tt.code)
				return
			}
			tid, _ := l.verified(tt.phone, "1000", "")
			expect(t, l.bill(tid, "1000"), "FAIL", tt.code)
		})
	}
	t.Run("01099990008", func(t *testing.T) {
		l.t = t
		tid, _ := l.verified("01099990008", "1000", "")
		expect(t, l.bill(tid, "1000"), "SUCCESS", "OK")
		expect(t, l.step("cancel/cancel", "CP_ID", "demo", "CP_PWD", "demo1234", "O_TID", tid), "FAIL", "CANCEL_REFUSED")
	})
}

// Twenty concurrent bills on one TID charge once.
func TestE2E_ConcurrentBillsChargeOnce(t *testing.T) {
	l := startLive(t)
	tid, _ := l.verified("01055556666", "7000", "")
	var wg sync.WaitGroup
	results := make(chan map[string]any, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); results <- l.bill(tid, "7000") }()
	}
	wg.Wait()
	close(results)
	for env := range results {
		ok := env["result"] == "SUCCESS" && env["code"] == "OK"
		if !ok && env["code"] != "TID_BUSY" {
			t.Errorf("bill: %v", env)
		}
	}
	l.stop()
	carrier, err := sim.New(&sim.Options{Path: filepath.Join(l.data, "sandbox-carrier.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer carrier.Close()
	st, _ := carrier.Statement(context.Background())
	charges := 0
	for _, e := range st {
		if e.TID == tid {
			charges++
			if e.Amount != 7000 {
				t.Errorf("statement %+v", e)
			}
		}
	}
	if charges != 1 {
		t.Fatalf("%d charges of %s at the carrier", charges, tid)
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

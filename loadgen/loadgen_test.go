package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTUNA is a TUNA-like server in memory: the four payment steps and the
// cancel, the sandbox SMS inbox, and the floor. It checks the order of the
// steps and the OTP, and refuses a phone number used twice.
type fakeTUNA struct {
	mu     sync.Mutex
	state  map[string]string // TID → last step done
	otps   map[string]string // phone → OTP
	phones map[string]bool
	calls  map[string]int
	wrong  bool // answer otp_verify OTP_MISMATCH
}

func newFake() *fakeTUNA {
	return &fakeTUNA{state: map[string]string{}, otps: map[string]string{}, phones: map[string]bool{},
		calls: map[string]int{}}
}

func (f *fakeTUNA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		fmt.Fprint(w, "# TYPE go_memstats_next_gc_bytes gauge\ngo_memstats_next_gc_bytes 4.194304e+06\n")
		return
	}
	if strings.HasPrefix(r.URL.Path, "/sandbox/sms/") {
		f.mu.Lock()
		otp := f.otps[strings.TrimPrefix(r.URL.Path, "/sandbox/sms/")]
		f.mu.Unlock()
		fmt.Fprintf(w, `{"otp":%q}`, otp)
		return
	}
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	step := strings.TrimPrefix(r.URL.Path, "/tx/")
	f.calls[step]++
	tid, code := f.step(step, r)
	res := "SUCCESS"
	if code != "OK" {
		res = "FAIL"
	}
	fmt.Fprintf(w, `{"result":%q,"code":%q,"message":"m","tid":%q,"data":{}}`, res, code, tid)
}

// step runs one step on the fake's state; the lock is held.
func (f *fakeTUNA) step(step string, r *http.Request) (tid, code string) {
	tid = r.PostForm.Get("TID")
	need := map[string]string{"payment/user_auth": "cp_auth", "payment/otp_verify": "user_auth",
		"payment/bill": "otp_verify"}[step]
	if need != "" && f.state[tid] != need {
		return tid, "OUT_OF_ORDER"
	}
	switch step {
	case "payment/cp_auth":
		if r.PostForm.Get("CP_PWD") != "demo1234" || r.PostForm.Get("P_PRICE") != "1000" {
			return "", "CP_AUTH_FAILED"
		}
		tid = fmt.Sprintf("T%025d", len(f.state))
		f.state[tid] = "cp_auth"
	case "payment/user_auth":
		phone := r.PostForm.Get("phone_number")
		if f.phones[phone] || !strings.HasPrefix(phone, "0101") || len(phone) != 11 || r.PostForm.Get("name") != "홍길동" {
			return tid, "BAD_USER"
		}
		f.phones[phone], f.otps[phone], f.state[tid] = true, fmt.Sprintf("%06d", len(f.phones)), "user_auth"
	case "payment/otp_verify":
		if f.wrong {
			return tid, "OTP_MISMATCH"
		}
		f.state[tid] = "otp_verify"
	case "payment/bill":
		f.state[tid] = "bill"
	case "cancel/cancel":
		if f.state[r.PostForm.Get("O_TID")] != "bill" {
			return "", "NOT_PAID"
		}
		f.state[r.PostForm.Get("O_TID")] = "cancelled"
	case "floor":
	default:
		return tid, "NOT_FOUND"
	}
	return tid, "OK"
}

func quick(url string) Options {
	return Options{URL: url, Concurrency: 4, Duration: 400 * time.Millisecond, Warmup: 100 * time.Millisecond}
}

func TestRun_FlowAgainstFake(t *testing.T) {
	f := newFake()
	srv := httptest.NewServer(f)
	defer srv.Close()
	o := quick(srv.URL)
	o.Cancel = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Flows == 0 || res.FailedFlows != 0 || len(res.Errors) != 0 {
		t.Fatalf("flows %d failed %d errors %v", res.Flows, res.FailedFlows, res.Errors)
	}
	if edge := int64(5 * o.Concurrency); res.Steps < 5*res.Flows-edge || res.Steps > 5*res.Flows+edge {
		t.Fatalf("steps %d for %d flows", res.Steps, res.Flows)
	}
	rows := map[string]Latency{}
	for _, l := range res.Latency {
		rows[l.Step] = l
	}
	for _, s := range []string{stepCPAuth, stepUserAuth, stepSMS, stepOTPVerify, stepBill, stepCancel, rowFlow} {
		if rows[s].Count == 0 || rows[s].P99Ms < rows[s].P50Ms || rows[s].MaxMs < rows[s].P99Ms {
			t.Errorf("row %s: %+v", s, rows[s])
		}
	}
	if rows[rowFlow].Count != uint64(res.Flows) {
		t.Errorf("flow row %d, flows %d", rows[rowFlow].Count, res.Flows)
	}
	// The warm-up ran flows that are not counted.
	f.mu.Lock()
	done := f.calls["payment/bill"]
	f.mu.Unlock()
	if int64(done) <= res.Flows {
		t.Errorf("the server billed %d, the window counted %d: the warm-up was counted", done, res.Flows)
	}
	if res.Harness == nil || res.Harness.CPUSeconds <= 0 {
		t.Errorf("harness CPU %+v", res.Harness)
	}
}

func TestRun_ErrorsByCode(t *testing.T) {
	f := newFake()
	f.wrong = true
	srv := httptest.NewServer(f)
	defer srv.Close()
	res, err := Run(context.Background(), quick(srv.URL))
	if err != ErrNoProgress {
		t.Fatalf("err %v, want ErrNoProgress", err)
	}
	if res.FailedFlows == 0 || res.Errors["otp_verify OTP_MISMATCH (HTTP 200)"] != res.FailedFlows {
		t.Fatalf("failed %d errors %v", res.FailedFlows, res.Errors)
	}
}

func TestRun_ServerPID(t *testing.T) {
	srv := httptest.NewServer(newFake())
	defer srv.Close()
	o := quick(srv.URL)
	o.Duration = 1200 * time.Millisecond
	o.ServerPID = os.Getpid() // the fake runs in this process
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Server == nil || res.Server.PID != os.Getpid() || res.Server.PeakRSSBytes <= 0 || res.Server.CPUCores <= 0 {
		t.Fatalf("server %+v", res.Server)
	}
	b, _ := json.Marshal(res)
	for _, k := range []string{`"flows_per_sec"`, `"p99_ms"`, `"peak_rss_bytes"`, `"max_step_p99_ms"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON has no %s: %s", k, b)
		}
	}
}

func TestRun_Floor(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(FloorPath, FloorHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	o := quick(srv.URL)
	o.Floor = true
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != "floor" || res.Requests == 0 || res.RequestsPerSec <= 0 || len(res.Errors) != 0 ||
		len(res.Latency) != 1 || res.MaxStepP99Ms <= 0 && res.Latency[0].P99Ms != 0 {
		t.Fatalf("%+v", res)
	}
	var sb strings.Builder
	res.WriteTable(&sb)
	if !strings.Contains(sb.String(), "req/s") || !strings.Contains(sb.String(), "errors: none") {
		t.Fatalf("table:\n%s", sb.String())
	}
}

func TestReadProc_Self(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if s.RSS <= 0 || s.HWM < s.RSS || s.CPU < 0 {
		t.Fatalf("sample %+v", s)
	}
	if _, err := ReadProc(-1); err == nil {
		t.Fatal("a missing process reads")
	}
}

func TestNext_FreshPhones(t *testing.T) {
	r := &run{phoneBase: phoneSpace - 2, runID: "x"}
	seen := map[string]bool{}
	for range 5 {
		phone, order := r.next()
		if len(phone) != 11 || !strings.HasPrefix(phone, "0101") || seen[phone] || seen[order] {
			t.Fatalf("phone %q order %q (seen %v)", phone, order, seen)
		}
		seen[phone], seen[order] = true, true
	}
}

package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// phoneSpace is how many phone numbers flows are spread over: 010-1xxx-xxxx.
// Each flow takes the next one after a random start, so a number is used
// again only after ten million flows, far from the monthly limit.
const phoneSpace = 10_000_000

// The user every flow authenticates, but for the phone number. The name is
// sent URL-escaped.
var userName = url.QueryEscape("홍길동")

// worker runs one flow at a time, reusing its buffers.
type worker struct {
	r    *run
	body []byte
	resp bytes.Buffer
	env  envelope
	sms  struct {
		OTP string `json:"otp"`
	}
	cpID, cpPwd string // escaped
	// failedAt is when the request that failed the current flow ended: the
	// flow's failure and that request's error are counted by the same
	// instant, so both fall inside the measured window or neither does.
	failedAt time.Time
}

// envelope is the part of an answer the harness reads.
type envelope struct {
	Result string `json:"result"`
	Code   string `json:"code"`
	TID    string `json:"tid"`
}

func newWorker(r *run) *worker {
	return &worker{r: r, body: make([]byte, 0, 512),
		cpID: url.QueryEscape(r.opts.CPID), cpPwd: url.QueryEscape(r.opts.CPPwd)}
}

// next draws a fresh phone number and order id.
func (r *run) next() (phone, order string) {
	n := r.seq.Add(1)
	digits := strconv.FormatUint(1e7+(r.phoneBase+n)%phoneSpace, 10)[1:] // 7 digits, zero-padded
	return "0101" + digits, r.runID + "-" + strconv.FormatUint(n, 10)
}

// flow runs one payment end to end and records it.
func (w *worker) flow(ctx context.Context) {
	start := time.Now()
	ok := w.steps(ctx)
	end := time.Now()
	if !ok {
		end = w.failedAt
	}
	counted := w.r.win.in(end)
	if ok {
		w.r.stats.allFlows.Add(1)
		w.r.tl.flow(end)
	}
	switch {
	case !counted:
	case ok:
		w.r.stats.flows.Add(1)
		w.r.stats.hists[rowFlow].Record(end.Sub(start))
	default:
		w.r.stats.failedFlows.Add(1)
	}
}

// steps runs the steps of one flow; it stops at the first failure.
func (w *worker) steps(ctx context.Context) bool {
	o, pre := w.r.opts, w.r.opts.Prefix
	phone, order := w.r.next()
	price := strconv.FormatInt(o.Price, 10)
	w.form("CP_ID", w.cpID, "CP_PWD", w.cpPwd, "P_ID", "bench-01", "P_NAME", "Bench+tea", "P_PRICE", price,
		"ORDER_ID", order)
	if !w.post(ctx, stepCPAuth, pre+"/payment/cp_auth") {
		return false
	}
	tid := w.env.TID
	w.form("TID", tid, "name", userName, "phone_number", phone, "carrier", "SKT", "birth", "19900101", "gender", "M")
	if !w.post(ctx, stepUserAuth, pre+"/payment/user_auth") {
		return false
	}
	if !w.readOTP(ctx, phone) {
		return false
	}
	w.form("TID", tid, "OTP", w.sms.OTP)
	if !w.post(ctx, stepOTPVerify, pre+"/payment/otp_verify") {
		return false
	}
	w.form("TID", tid, "CP_ID", w.cpID, "CP_PWD", w.cpPwd, "AMOUNT", price)
	if !w.post(ctx, stepBill, pre+"/payment/bill") {
		return false
	}
	if !o.Cancel {
		return true
	}
	w.form("CP_ID", w.cpID, "CP_PWD", w.cpPwd, "O_TID", tid, "REASON", "bench", "IDEMPOTENCY_KEY", order)
	return w.post(ctx, stepCancel, pre+"/cancel/cancel")
}

// floor sends one request to the floor endpoint.
func (w *worker) floor(ctx context.Context) {
	w.form("TID", "01KBENCHBENCHBENCHBENCHBEN", "OTP", "123456")
	w.post(ctx, rowFloor, FloorPath)
}

// form sets the request body to the pairs, whose values are escaped.
func (w *worker) form(kv ...string) {
	b := w.body[:0]
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(append(append(b, kv[i]...), '='), kv[i+1]...)
	}
	w.body = b
}

// post sends the body to a step and records its latency and outcome; ok is
// an HTTP 200 with result SUCCESS.
func (w *worker) post(ctx context.Context, step, path string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.r.opts.URL+path, bytes.NewReader(w.body))
	if err != nil {
		return w.failed(step, "BAD_REQUEST", time.Now())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start := time.Now()
	status, err := w.do(req)
	end := time.Now()
	w.count(step, start, end)
	if err != nil {
		return w.failed(step, transportCode(ctx), end)
	}
	w.env = envelope{}
	if err := json.Unmarshal(w.resp.Bytes(), &w.env); err != nil {
		return w.failed(step, "HTTP_"+strconv.Itoa(status)+"_NOT_JSON", end)
	}
	if status != http.StatusOK || w.env.Result != "SUCCESS" {
		return w.failed(step, w.env.Code+" (HTTP "+strconv.Itoa(status)+")", end)
	}
	return true
}

// readOTP reads the OTP the sandbox carrier sent to phone.
func (w *worker) readOTP(ctx context.Context, phone string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.r.opts.URL+"/sandbox/sms/"+phone, nil)
	if err != nil {
		return w.failed(stepSMS, "BAD_REQUEST", time.Now())
	}
	start := time.Now()
	status, err := w.do(req)
	end := time.Now()
	w.count(stepSMS, start, end)
	if err != nil {
		return w.failed(stepSMS, transportCode(ctx), end)
	}
	w.sms.OTP = ""
	if status != http.StatusOK || json.Unmarshal(w.resp.Bytes(), &w.sms) != nil || len(w.sms.OTP) != 6 {
		return w.failed(stepSMS, "NO_OTP (HTTP "+strconv.Itoa(status)+")", end)
	}
	return true
}

// do sends req and reads the whole answer into w.resp, so the connection
// goes back to the pool.
func (w *worker) do(req *http.Request) (int, error) {
	res, err := w.r.opts.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	w.resp.Reset()
	if _, err := io.Copy(&w.resp, res.Body); err != nil {
		return res.StatusCode, err
	}
	return res.StatusCode, nil
}

// count records one request's latency, if it ended in the window.
func (w *worker) count(step string, start, end time.Time) {
	s := w.r.stats
	s.allRequests.Add(1)
	if step != stepSMS {
		w.r.tl.step(end, end.Sub(start))
	}
	if !w.r.win.in(end) {
		return
	}
	s.requests.Add(1)
	s.hists[step].Record(end.Sub(start))
	if step != stepSMS && step != rowFloor {
		s.steps.Add(1)
	}
}

func (w *worker) failed(step, code string, end time.Time) bool {
	w.failedAt = end
	w.r.stats.fail(step, code, w.r.win.in(end))
	w.r.tl.fail(end)
	return false
}

// transportCode names a request that got no answer.
func transportCode(ctx context.Context) string {
	if ctx.Err() != nil {
		return "CANCELLED"
	}
	return "TRANSPORT_ERROR"
}

//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/failpoint"
)

// The crash test proves DESIGN.md's money rules where a kill -9 lands: a
// real `tuna serve` over a real `tuna carrier-sim`, killed by each named
// failpoint in turn, restarted on the same data folder, left to recover,
// and then reconciled TID by TID against the carrier's statement.

const (
	crashCP      = "demo"
	crashPwd     = "demo1234"
	crashPrice   = 5000
	crashPartial = 2000
	firstKey     = "return-1" // the IDEMPOTENCY_KEY of the cancel that crashes
	resolveBound = 20 * time.Second
)

// crashScenario kills the server at point, then checks what recovery and
// the merchant's retries make of it.
type crashScenario struct {
	point string
	phone string // a normal subscriber, one per scenario
	crash func(r *crashRig, point, phone string) string
	check func(r *crashRig, tid, phone string)
}

func crashScenarios() []crashScenario {
	return []crashScenario{
		{failpoint.BillBeforeCarrier, "01077000001", crashInBill, billNotCharged},
		{failpoint.BillAfterCarrier, "01077000002", crashInBill, billNetCancelled},
		{failpoint.BillAfterLedger, "01077000003", crashInBill, billPaid},
		{failpoint.SessionBeforeSave, "01077000004", crashInBillOnly, billPaid},
		{failpoint.CancelBeforeCarrier, "01077000005", crashInCancel, cancelNotApplied},
		{failpoint.CancelAfterCarrier, "01077000006", crashInCancel, cancelDone},
		{failpoint.CancelAfterLedger, "01077000007", crashInCancel, cancelDone},
	}
}

func TestCrash_Failpoints(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode: it builds tuna and kills real processes")
	}
	bin := buildTuna(t)
	for _, sc := range crashScenarios() {
		t.Run(sc.point, func(t *testing.T) {
			r := newCrashRig(t, bin)
			tid := sc.crash(r, sc.point, sc.phone)
			sc.check(r, tid, sc.phone)
			r.sim.stop(t)
		})
	}
}

// buildTuna builds the binary once for every scenario: plain, no -race.
func buildTuna(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tuna")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The ways to crash.

// crashInBill arms the server from the start and dies in bill.
func crashInBill(r *crashRig, point, phone string) string {
	r.startServe(point)
	tid := r.flow(phone)
	r.dies(point, "payment/bill", billForm(tid))
	r.startServe("")
	return tid
}

// crashInBillOnly walks to VERIFIED on a clean server, then arms the next
// one for bill alone: the point is hit by every step's session save.
func crashInBillOnly(r *crashRig, point, phone string) string {
	r.startServe("")
	tid := r.flow(phone)
	r.srv.stop(r.t)
	r.startServe(point)
	r.dies(point, "payment/bill", billForm(tid))
	r.startServe("")
	return tid
}

// crashInCancel pays on a clean server, then dies in a partial cancel.
func crashInCancel(r *crashRig, point, phone string) string {
	r.startServe("")
	tid := r.flow(phone)
	r.answer("payment/bill", billForm(tid), "OK")
	r.srv.stop(r.t)
	r.startServe(point)
	r.dies(point, "cancel/cancel", cancelForm(tid, firstKey))
	r.startServe("")
	return tid
}

// The outcomes each crash must reach.

// billNotCharged: the charge never left; recovery fails it.
func billNotCharged(r *crashRig, tid, phone string) {
	wantView(r.t, r.waitResolved(tid), payment.StatusFailed, payment.CodeBillNotCharged, 0)
	r.answer("payment/bill", billForm(tid), payment.CodeBillNotCharged)
	b := r.settle()
	if e, ok := b.statement[tid]; ok && e.Charged() {
		r.t.Errorf("the carrier charged %s: %+v", tid, e)
	}
}

// billNetCancelled: charged, never told to the merchant; recovery cancels
// it in full (망취소) and the limit is not used.
func billNetCancelled(r *crashRig, tid, phone string) {
	wantView(r.t, r.waitResolved(tid), payment.StatusFailed, payment.CodeBillNetCancelled, 0)
	r.answer("payment/bill", billForm(tid), payment.CodeBillNetCancelled)
	b := r.settle()
	if e := b.statement[tid]; !e.Charged() || e.Amount != crashPrice || e.Cancelled != crashPrice {
		r.t.Errorf("carrier: %+v, want %d charged and cancelled in full", e, crashPrice)
	}
	if used, held := b.limit(phone); used != 0 || held != 0 {
		r.t.Errorf("limit of %s: used %d held %d, want none", phone, used, held)
	}
}

// billPaid: the ledger said PAID before the crash; a retried bill answers
// it and charges nothing more.
func billPaid(r *crashRig, tid, phone string) {
	wantView(r.t, r.waitResolved(tid), payment.StatusPaid, "", 0)
	var d billData
	r.answer("payment/bill", billForm(tid), "OK").into(r.t, &d)
	if d.Status != string(payment.StatusPaid) || d.Amount != crashPrice {
		r.t.Errorf("retried bill: %+v", d)
	}
	b := r.settle()
	if e := b.statement[tid]; len(b.statement) != 1 || e.Amount != crashPrice || e.Cancelled != 0 {
		r.t.Errorf("statement %+v, want one charge of %d", b.statement, crashPrice)
	}
	if used, _ := b.limit(phone); used != crashPrice {
		r.t.Errorf("limit of %s: used %d, want %d", phone, used, crashPrice)
	}
}

// cancelNotApplied: the cancel never left; recovery fails it, the retry
// with its key answers so, and a new cancel works.
func cancelNotApplied(r *crashRig, tid, phone string) {
	v := r.waitResolved(tid)
	wantView(r.t, v, payment.StatusPaid, "", 0)
	if len(v.Cancels) != 1 || v.Cancels[0].Status != payment.CancelFailed || v.Cancels[0].FailCode != payment.CodeCancelNotApplied {
		r.t.Errorf("cancels %+v, want one FAILED %s", v.Cancels, payment.CodeCancelNotApplied)
	}
	r.answer("cancel/cancel", cancelForm(tid, firstKey), payment.CodeCancelNotApplied)
	var d cancelData
	r.answer("cancel/cancel", cancelForm(tid, "return-2"), "OK").into(r.t, &d)
	wantCancelled(r.t, d)
	b := r.settle()
	if e := b.statement[tid]; e.Cancelled != crashPartial || len(e.Cancels) != 1 {
		r.t.Errorf("carrier: %+v, want the new cancel of %d alone", e, crashPartial)
	}
}

// cancelDone: the cancel reached the carrier; it is DONE after recovery
// (or was already), and the retry with its key cancels nothing more.
func cancelDone(r *crashRig, tid, phone string) {
	v := r.waitResolved(tid)
	wantView(r.t, v, payment.StatusPartialCancelled, "", crashPartial)
	if len(v.Cancels) != 1 || v.Cancels[0].Status != payment.CancelDone || v.Cancels[0].Amount != crashPartial {
		r.t.Errorf("cancels %+v, want one DONE of %d", v.Cancels, crashPartial)
	}
	var d cancelData
	r.answer("cancel/cancel", cancelForm(tid, firstKey), "OK").into(r.t, &d)
	wantCancelled(r.t, d)
	b := r.settle()
	if e := b.statement[tid]; e.Cancelled != crashPartial || len(e.Cancels) != 1 {
		r.t.Errorf("carrier: %+v, want one cancel of %d", e, crashPartial)
	}
	if p := b.payments[tid]; len(p.Cancels) != 1 {
		r.t.Errorf("ledger cancels %+v, want one", p.Cancels)
	}
}

func wantView(t *testing.T, v payment.View, status payment.Status, failCode string, cancelled int64) {
	t.Helper()
	if v.Status != status || v.FailCode != failCode || v.CancelledAmount != cancelled {
		t.Errorf("payment %s: %s %q cancelled %d, want %s %q cancelled %d",
			v.TID, v.Status, v.FailCode, v.CancelledAmount, status, failCode, cancelled)
	}
}

func wantCancelled(t *testing.T, d cancelData) {
	t.Helper()
	want := cancelData{Type: string(payment.TypeCancel), Cancelled: crashPartial,
		Remaining: crashPrice - crashPartial, Status: string(payment.StatusPartialCancelled)}
	if d != want {
		t.Errorf("cancel answered %+v, want %+v", d, want)
	}
}

// crashRig is one scenario's world: a carrier simulator process, the
// `tuna serve` process of the moment, and their data folders.
type crashRig struct {
	t      *testing.T
	bin    string
	dir    string // data folders and every process's output
	data   string // tuna serve's, kept across restarts
	sim    *proc
	simURL string
	srv    *proc
	base   string
	client *http.Client
	n      int // processes started, to name their output files
}

func newCrashRig(t *testing.T, bin string) *crashRig {
	dir := t.TempDir() // first, so that it is removed after the processes are killed
	r := &crashRig{t: t, bin: bin, dir: dir, data: filepath.Join(dir, "tuna"), client: &http.Client{
		Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	r.startSim()
	return r
}

func (r *crashRig) startSim() {
	r.t.Helper()
	var addr string
	r.sim, addr = r.start("carrier-sim", "carrier simulator ready", "addr", nil,
		"carrier-sim", "--listen", "127.0.0.1:0", "--data", filepath.Join(r.dir, "carrier"))
	r.simURL = "http://" + addr
}

// startServe starts `tuna serve` on the rig's data folder, armed with
// point unless it is empty.
func (r *crashRig) startServe(point string) {
	r.t.Helper()
	name, env := "serve", []string(nil)
	if point != "" {
		name, env = "serve."+point, []string{"TUNA_FAILPOINTS=" + point}
	}
	var addr string
	r.srv, addr = r.start(name, "ready to serve", "listen", env,
		"serve", "--carrier", r.simURL, "--data", r.data, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
		"--watch=false", "--recover-every", "200ms", "--recover-after", "1s", "--carrier-settle", "1s", "--log-format", "json",
		"--scripts", "../../scripts", "--protocols", "../../protocols")
	r.base = "http://" + addr
}

func (r *crashRig) start(name, readyMsg, field string, env []string, args ...string) (*proc, string) {
	r.t.Helper()
	r.n++
	p := startProc(r.t, filepath.Join(r.dir, fmt.Sprintf("%02d-%s", r.n, name)), r.bin, env, args)
	return p, p.waitReady(r.t, readyMsg, field)
}

// flow walks a payment to VERIFIED for phone and returns its TID.
func (r *crashRig) flow(phone string) string {
	r.t.Helper()
	tid := r.answer("payment/cp_auth", url.Values{"CP_ID": {crashCP}, "CP_PWD": {crashPwd}, "P_ID": {"tea-01"},
		"P_NAME": {"Green tea"}, "P_PRICE": {strconv.Itoa(crashPrice)}}, "OK").TID
	r.answer("payment/user_auth", url.Values{"TID": {tid}, "name": {"홍길동"}, "phone_number": {phone},
		"carrier": {"SKT"}, "birth": {"19900101"}, "gender": {"M"}}, "OK")
	var sms payment.SMS
	if err := r.get(r.base+"/sandbox/sms/"+phone, false, &sms); err != nil {
		r.t.Fatal(err)
	}
	r.answer("payment/otp_verify", url.Values{"TID": {tid}, "OTP": {sms.OTP}}, "OK")
	return tid
}

func billForm(tid string) url.Values {
	return url.Values{"TID": {tid}, "CP_ID": {crashCP}, "CP_PWD": {crashPwd}, "AMOUNT": {strconv.Itoa(crashPrice)}}
}

func cancelForm(tid, key string) url.Values {
	return url.Values{"CP_ID": {crashCP}, "CP_PWD": {crashPwd}, "O_TID": {tid},
		"AMOUNT": {strconv.Itoa(crashPartial)}, "REASON": {"one item returned"}, "IDEMPOTENCY_KEY": {key}}
}

// dies posts a step the armed server must not survive, and checks that it
// died of the failpoint's SIGKILL.
func (r *crashRig) dies(point, step string, form url.Values) {
	r.t.Helper()
	if env, err := r.post(step, form); err == nil {
		r.t.Fatalf("%s answered %s %s; want the server killed at %s", step, env.Result, env.Code, point)
	}
	r.srv.killedAt(r.t, point)
}

// waitResolved polls the merchant lookup until recovery has resolved the
// payment's charge and every cancel of it.
func (r *crashRig) waitResolved(tid string) payment.View {
	r.t.Helper()
	deadline := time.Now().Add(resolveBound)
	for {
		var v payment.View
		err := r.get(r.base+"/v1/payments/"+tid, true, &v)
		if err == nil && resolved(v) {
			return v
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("payment %s not resolved in %s: %+v, %v", tid, resolveBound, v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func resolved(v payment.View) bool {
	if v.Status == payment.StatusUnknown {
		return false
	}
	for _, c := range v.Cancels {
		if c.Status == payment.CancelPending {
			return false
		}
	}
	return true
}

// envelope is a step's answer; data is decoded by the caller.
type envelope struct {
	Result string          `json:"result"`
	Code   string          `json:"code"`
	TID    string          `json:"tid"`
	Data   json.RawMessage `json:"data"`
}

type billData struct {
	Amount int64  `json:"AMOUNT"`
	Status string `json:"STATUS"`
}

type cancelData struct {
	Type      string `json:"TYPE"`
	Cancelled int64  `json:"CANCELLED_AMOUNT"`
	Remaining int64  `json:"REMAINING_AMOUNT"`
	Status    string `json:"STATUS"`
}

func (e envelope) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(e.Data, v); err != nil {
		t.Fatalf("data %s: %v", e.Data, err)
	}
}

func (r *crashRig) post(step string, form url.Values) (envelope, error) {
	var env envelope
	resp, err := r.client.PostForm(r.base+"/tx/"+step, form)
	if err != nil {
		return env, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return env, fmt.Errorf("%s: HTTP %d: %w", step, resp.StatusCode, err)
	}
	return env, nil
}

// answer posts a step that must answer code: OK is a SUCCESS, any other a FAIL.
func (r *crashRig) answer(step string, form url.Values, code string) envelope {
	r.t.Helper()
	env, err := r.post(step, form)
	if err != nil {
		r.t.Fatalf("%s: %v", step, err)
	}
	result := "FAIL"
	if code == "OK" {
		result = "SUCCESS"
	}
	if env.Result != result || env.Code != code {
		r.t.Fatalf("%s answered %s %s %s, want %s %s", step, env.Result, env.Code, env.Data, result, code)
	}
	return env
}

func (r *crashRig) get(u string, merchant bool, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if merchant {
		req.SetBasicAuth(crashCP, crashPwd)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// ledgerBooks are both sides of the books once the server is stopped.
type ledgerBooks struct {
	statement map[string]sim.Entry // the carrier's, by TID
	payments  map[string]payment.Payment
	limits    []payment.Limit
}

// limit is the use of phone's limit, all months together.
func (b ledgerBooks) limit(phone string) (used, held int64) {
	for _, l := range b.limits {
		if l.Phone == phone {
			used, held = used+l.Used, held+l.Held
		}
	}
	return used, held
}

// settle stops the server, reads both sides of the books and checks them.
func (r *crashRig) settle() ledgerBooks {
	r.t.Helper()
	r.srv.stop(r.t)
	b := ledgerBooks{statement: r.statement()}
	b.payments, b.limits = r.ledger()
	books(r.t, b)
	return b
}

func (r *crashRig) statement() map[string]sim.Entry {
	r.t.Helper()
	var list []sim.Entry
	if err := r.get(r.simURL+"/statement", false, &list); err != nil {
		r.t.Fatal(err)
	}
	byTID := map[string]sim.Entry{}
	for _, e := range list {
		if _, dup := byTID[e.TID]; dup {
			r.t.Errorf("the carrier's statement lists %s twice", e.TID)
		}
		byTID[e.TID] = e
	}
	return byTID
}

// ledger reads DATA/payment.db; the server must be stopped (bbolt locks it).
func (r *crashRig) ledger() (map[string]payment.Payment, []payment.Limit) {
	r.t.Helper()
	store, err := boltstore.Open(filepath.Join(r.data, "payment.db"), &boltstore.Options{OpenTimeout: 5 * time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	defer store.Close()
	list, err := store.Payments(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	limits, err := store.Limits(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	payments := map[string]payment.Payment{}
	for _, p := range list {
		if _, dup := payments[p.TID]; dup {
			r.t.Errorf("the ledger lists %s twice", p.TID)
		}
		payments[p.TID] = p
	}
	return payments, limits
}

// books checks DESIGN.md's money rules over both sides of the books: every
// TID agrees with the carrier, cancels included, and every limit equals
// the live charges and the charges in flight of its phone and month.
func books(t *testing.T, b ledgerBooks) {
	t.Helper()
	for _, p := range b.payments {
		e, ok := b.statement[p.TID]
		agrees(t, p, e, ok)
		cancelsAgree(t, p, e)
	}
	for tid, e := range b.statement {
		if _, ok := b.payments[tid]; !ok && e.Charged() {
			t.Errorf("the carrier charged %s, which the ledger does not know", tid)
		}
	}
	limitsAgree(t, b.payments, b.limits)
}

func agrees(t *testing.T, p payment.Payment, e sim.Entry, atCarrier bool) {
	t.Helper()
	switch {
	case p.Status == payment.StatusUnknown:
		t.Errorf("%s: still UNKNOWN after recovery", p.TID)
	case p.Status.Charged():
		if !atCarrier || !e.Charged() || e.Amount != p.Amount || e.Cancelled != p.Cancelled || e.Refunded != p.Refunded {
			t.Errorf("%s: ledger %s %d -%d -%d, carrier %+v", p.TID, p.Status, p.Amount, p.Cancelled, p.Refunded, e)
		}
	case atCarrier && e.Remaining() != 0:
		t.Errorf("%s: %s in the ledger, %d live at the carrier", p.TID, p.Status, e.Remaining())
	}
}

// cancelsAgree: the ledger's DONE cancels, and a net cancel, are exactly
// the carrier's; none is left PENDING.
func cancelsAgree(t *testing.T, p payment.Payment, e sim.Entry) {
	t.Helper()
	want := map[string]string{}
	for _, c := range p.Cancels {
		switch c.Status {
		case payment.CancelPending:
			t.Errorf("%s: cancel %s still PENDING after recovery", p.TID, c.ID)
		case payment.CancelDone:
			want[c.ID] = fmt.Sprint(c.Type, " ", c.Amount)
		}
	}
	if p.NetCancelled {
		want["NET-"+p.TID] = fmt.Sprint(payment.TypeCancel, " ", p.Amount) // the service's net cancel ID
	}
	got := map[string]string{}
	for _, c := range e.Cancels {
		got[c.ID] = fmt.Sprint(c.Type, " ", c.Amount)
	}
	if !maps.Equal(want, got) {
		t.Errorf("%s: cancels in the ledger %v, at the carrier %v", p.TID, want, got)
	}
}

// limitsAgree: Used is the live charges of the payments billed in that
// month, Held the amounts still UNKNOWN, for every phone and month.
func limitsAgree(t *testing.T, payments map[string]payment.Payment, limits []payment.Limit) {
	t.Helper()
	used, held := map[string]int64{}, map[string]int64{}
	for _, p := range payments {
		key := p.Phone + " " + p.BillMonth
		switch {
		case p.Status.Charged():
			used[key] += p.Amount - p.Cancelled - p.Refunded
		case p.Status == payment.StatusUnknown:
			held[key] += p.Amount
		}
	}
	for _, l := range limits {
		key := l.Phone + " " + l.Month
		if l.Used != used[key] || l.Held != held[key] {
			t.Errorf("limit %s: used %d held %d; live charges %d, in flight %d", key, l.Used, l.Held, used[key], held[key])
		}
		delete(used, key)
		delete(held, key)
	}
	for key := range used {
		if used[key] != 0 || held[key] != 0 {
			t.Errorf("limit %s: no row; live charges %d, in flight %d", key, used[key], held[key])
		}
	}
	for key, n := range held {
		if n != 0 {
			t.Errorf("limit %s: no row; in flight %d", key, n)
		}
	}
}

// proc is a child process with its stdout and stderr in files. It is
// killed in t.Cleanup, and the tail of its stderr is logged if t failed.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stderr string // the file
	ready  *readyWriter
	done   chan struct{}
}

func startProc(t testing.TB, base, bin string, env, args []string) *proc {
	t.Helper()
	stdout, err := os.Create(base + ".stdout")
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(base + ".stderr")
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: filepath.Base(base), stderr: stderr.Name(), ready: &readyWriter{lines: make(chan map[string]any, 64)}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = childEnv(env), stdout, io.MultiWriter(stderr, p.ready)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		stdout.Close()
		stderr.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.logTail(t, base) })
	t.Cleanup(p.kill) // runs first: the files are complete when the tail is read
	return p
}

// childEnv is this process's environment without TUNA_* settings, plus env.
func childEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TUNA_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// waitReady returns field of the JSON log line whose msg is msg.
func (p *proc) waitReady(t testing.TB, msg, field string) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case line := <-p.ready.lines:
			if line["msg"] == msg {
				if addr, ok := line[field].(string); ok {
					return addr
				}
			}
		case <-p.done:
			t.Fatalf("%s exited before it was ready: %v", p.name, p.cmd.ProcessState)
		case <-deadline:
			t.Fatalf("%s: no %q line in 20s", p.name, msg)
		}
	}
}

// killedAt checks that the process died of SIGKILL, armed with point alone.
func (p *proc) killedAt(t *testing.T, point string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still runs: failpoint %s was not hit", p.name, point)
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s ended with %v, want SIGKILL at %s", p.name, p.cmd.ProcessState, point)
	}
	if b, _ := os.ReadFile(p.stderr); !bytes.Contains(b, []byte(`"failpoints":["`+point+`"]`)) {
		t.Fatalf("%s was not armed with %s alone", p.name, point)
	}
}

// stop ends the process with SIGTERM and checks that it exited cleanly.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM", p.name)
	}
	if !p.cmd.ProcessState.Success() {
		t.Errorf("%s stopped with %v", p.name, p.cmd.ProcessState)
	}
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

func (p *proc) logTail(t testing.TB, base string) {
	if !t.Failed() {
		return
	}
	for _, f := range []string{base + ".stdout", base + ".stderr"} {
		if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
			t.Logf("%s, last lines:\n%s", filepath.Base(f), tail(b, 30))
		}
	}
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// readyWriter sees a process's stderr go by and hands on each JSON log
// line; once nobody reads them any more, lines beyond the buffer are
// dropped.
type readyWriter struct {
	buf   []byte
	lines chan map[string]any
}

func (w *readyWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		var line map[string]any
		if json.Unmarshal(w.buf[:i], &line) == nil {
			select {
			case w.lines <- line:
			default:
			}
		}
		w.buf = w.buf[i+1:]
	}
}

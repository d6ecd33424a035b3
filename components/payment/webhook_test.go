package payment_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/components/payment/pgstore"
)

// hook is a merchant's webhook endpoint. It answers each request with the
// next status of plan (the last one once the plan runs out), or what
// answer says if set, and records every request.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	plan   []int
	answer func(d delivery) int
	got    []delivery
}

type delivery struct {
	header http.Header
	body   []byte
	status int
}

func (d delivery) id() string { return d.header.Get("webhook-id") }

func newHook(t *testing.T, plan ...int) *hook {
	h := &hook{plan: plan}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{header: r.Header.Clone(), body: body}
		if h.answer != nil {
			d.status = h.answer(d)
		}
		h.mu.Lock()
		if d.status == 0 {
			d.status = h.planned()
		}
		h.got = append(h.got, d)
		h.mu.Unlock()
		w.WriteHeader(d.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) planned() int {
	status := http.StatusOK
	if i := min(len(h.got), len(h.plan)-1); i >= 0 {
		status = h.plan[i]
	}
	return status
}

func (h *hook) deliveries() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// acked counts the deliveries answered 2xx: the events the merchant
// processed.
func (h *hook) acked() int {
	n := 0
	for _, d := range h.deliveries() {
		if d.status/100 == 2 {
			n++
		}
	}
	return n
}

// webhook registers merchant cp (if new) with a webhook to url and returns
// its signing secret.
func (w *world) webhook(cp, url string) string {
	w.t.Helper()
	if _, _, err := w.svc.AddMerchant(w.ctx(), cp, "Shop "+cp); err != nil && !errors.Is(err, payment.ErrExists) {
		w.t.Fatal(err)
	}
	secret, err := w.svc.SetWebhook(w.ctx(), cp, url)
	if err != nil {
		w.t.Fatal(err)
	}
	return secret
}

// deliver runs one dispatcher pass to h.
func (w *world) deliver(h *hook) (delivered, failed int) {
	w.t.Helper()
	d, f, err := w.svc.DeliverWebhooks(w.ctx(), h.srv.Client())
	if err != nil {
		w.t.Fatalf("DeliverWebhooks: %v", err)
	}
	return d, f
}

// events lists the events of tid, oldest first.
func (w *world) events(f payment.EventFilter) []payment.Event {
	w.t.Helper()
	events, err := w.store.Events(w.ctx(), f)
	if err != nil {
		w.t.Fatal(err)
	}
	slices.Reverse(events)
	return events
}

// restart closes the store and opens a new one and a new Service on the
// same file, as a restarted server does.
func (w *world) restart() {
	w.t.Helper()
	if err := w.store.Close(); err != nil {
		w.t.Fatal(err)
	}
	store, err := boltstore.Open(w.path, &boltstore.Options{NoSync: true})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { store.Close() })
	svc, err := payment.New(payment.Options{Store: store, Carrier: w.sim, Key: []byte(strings.Repeat("k", 32)),
		Now: w.clock.Now, CarrierSettle: -1, Log: zap.NewNop()})
	if err != nil {
		w.t.Fatal(err)
	}
	w.store, w.svc = store, svc
}

// verifyAsDocumented is a merchant's check of a webhook, written from
// docs/api.md ("Checking the signature") alone, not from TUNA's code.
func verifyAsDocumented(secret, msgID, timestamp string, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + timestamp + "."))
	mac.Write(body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, pair := range strings.Split(header, " ") {
		version, sig, _ := strings.Cut(pair, ",")
		if version == "v1" && hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// docExample reads the worked example of the Webhooks section of
// docs/api.md.
func docExample(t *testing.T) map[string]string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## Webhooks\n")
	if !ok {
		t.Fatal("docs/api.md has no Webhooks section")
	}
	re := regexp.MustCompile(`(?m)^(secret|webhook-id|webhook-timestamp|body|webhook-signature) +(\S.*)$`)
	ex := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(section, -1) {
		if _, dup := ex[m[1]]; !dup {
			ex[m[1]] = m[2]
		}
	}
	if len(ex) != 5 {
		t.Fatalf("the worked example names %v; want secret, webhook-id, webhook-timestamp, body, webhook-signature", ex)
	}
	return ex
}

func TestWebhook_SignatureAsDocumented(t *testing.T) {
	ex := docExample(t)
	if !verifyAsDocumented(ex["secret"], ex["webhook-id"], ex["webhook-timestamp"], []byte(ex["body"]), ex["webhook-signature"]) {
		t.Fatalf("the documented algorithm does not verify the documented example: %v", ex)
	}
	if verifyAsDocumented(ex["secret"], ex["webhook-id"], ex["webhook-timestamp"], []byte(ex["body"]+" "), ex["webhook-signature"]) {
		t.Fatal("the verifier accepts a changed body")
	}

	w := newWorld(t)
	h := newHook(t)
	secret := w.webhook(cpID, h.srv.URL)
	if !regexp.MustCompile(`^whsec_[A-Za-z0-9+/]{43}=$`).MatchString(secret) {
		t.Fatalf("secret %q, want whsec_ and the base64 of 32 bytes", secret)
	}
	tid := w.paid(normal, 5000)
	if d, f := w.deliver(h); d != 1 || f != 0 {
		t.Fatalf("delivered %d, failed %d; want 1, 0", d, f)
	}
	got := h.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	d := got[0]
	ts := d.header.Get("webhook-timestamp")
	if !verifyAsDocumented(secret, d.id(), ts, d.body, d.header.Get("webhook-signature")) {
		t.Fatalf("a real delivery does not verify as documented: %v %s", d.header, d.body)
	}
	if ts != strconv.FormatInt(w.clock.Now().Unix(), 10) || !strings.HasPrefix(d.id(), "msg_") ||
		d.header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", d.header)
	}
	var body struct {
		Type      string       `json:"type"`
		Timestamp time.Time    `json:"timestamp"`
		Data      payment.View `json:"data"`
	}
	if err := json.Unmarshal(d.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != payment.WebhookPaid || body.Data.TID != tid || body.Data.Status != payment.StatusPaid ||
		body.Data.Amount != 5000 || body.Data.Phone != "010****5678" || !body.Timestamp.Equal(w.clock.Now()) {
		t.Fatalf("body %s", d.body)
	}
	if verifyAsDocumented(secret, d.id(), ts, append(d.body, ' '), d.header.Get("webhook-signature")) ||
		verifyAsDocumented(secret, d.id()+"x", ts, d.body, d.header.Get("webhook-signature")) ||
		verifyAsDocumented(secret, d.id(), ts+"0", d.body, d.header.Get("webhook-signature")) {
		t.Fatal("the verifier accepts a changed id, timestamp or body")
	}
}

// A receiver that fails three times, then answers 200, processes the event
// exactly once; every attempt has the same webhook-id and its own
// timestamp and signature; the schedule is kept, on a fake clock.
func TestWebhook_RetriedUntilAcknowledgedOnce(t *testing.T) {
	w := newWorld(t)
	h := newHook(t, 500, 502, 503, 200)
	secret := w.webhook(cpID, h.srv.URL)
	w.paid(normal, 5000)
	if d, f := w.deliver(h); d != 0 || f != 1 {
		t.Fatalf("first attempt: delivered %d, failed %d", d, f)
	}
	for i, wait := range payment.DefaultWebhookSchedule[:3] {
		before := len(h.deliveries())
		w.clock.Advance(wait * 85 / 100) // the jitter is ±10%
		w.deliver(h)
		if n := len(h.deliveries()); n != before {
			t.Fatalf("attempt %d sent %s early", i+2, wait*15/100)
		}
		w.clock.Advance(wait * 30 / 100)
		w.deliver(h)
		if n := len(h.deliveries()); n != before+1 {
			t.Fatalf("after the wait %d: %d requests, want %d", i+1, n, before+1)
		}
	}
	for range 10 { // three days and more: nothing more is sent
		w.clock.Advance(10 * time.Hour)
		w.deliver(h)
	}
	got := h.deliveries()
	if len(got) != 4 || h.acked() != 1 {
		t.Fatalf("%d requests, %d acknowledged; want 4, 1", len(got), h.acked())
	}
	var stamps []string
	for _, d := range got {
		ts := d.header.Get("webhook-timestamp")
		if d.id() != got[0].id() || !verifyAsDocumented(secret, d.id(), ts, d.body, d.header.Get("webhook-signature")) ||
			!bytes.Equal(d.body, got[0].body) {
			t.Fatalf("attempt %v differs from the first %v", d.header, got[0].header)
		}
		stamps = append(stamps, ts)
	}
	if len(slices.Compact(slices.Clone(stamps))) != 4 {
		t.Fatalf("webhook-timestamps %v, want one per attempt", stamps)
	}
	e := w.events(payment.EventFilter{})
	if len(e) != 1 || e[0].Status != payment.EventDelivered || e[0].Attempts != 4 || e[0].ID != got[0].id() {
		t.Fatalf("events %+v", e)
	}
	for _, entry := range w.logs.All() {
		line := entry.Message + fmt.Sprint(entry.ContextMap())
		if strings.Contains(line, secret) || strings.Contains(line, strings.TrimPrefix(secret, "whsec_")) ||
			strings.Contains(line, `"type":"payment.paid"`) || strings.Contains(line, "010****5678") {
			t.Fatalf("the secret or the body reached the log: %s", line)
		}
	}
}

// A receiver that never answers 2xx sees nine attempts over about three
// days; then the event is FAILED and nothing more is sent.
func TestWebhook_FailedAfterTheSchedule(t *testing.T) {
	w := newWorld(t)
	h := newHook(t, 500)
	w.webhook(cpID, h.srv.URL)
	w.paid(normal, 5000)
	start := w.clock.Now()
	for range 20 {
		e := w.events(payment.EventFilter{})[0]
		if e.Status == payment.EventFailed {
			break
		}
		w.clock.Set(e.NextAt) // no sooner: the other test checks that
		w.deliver(h)
	}
	took := w.clock.Now().Sub(start)
	if n := len(h.deliveries()); n != 9 || took < 64*time.Hour || took > 80*time.Hour {
		t.Fatalf("%d attempts over %s before FAILED; want 9 over about three days", n, took)
	}
	e := w.events(payment.EventFilter{})[0]
	if e.Attempts != 9 || e.LastError != "HTTP 500" {
		t.Fatalf("event %+v", e)
	}
	w.clock.Advance(30 * 24 * time.Hour)
	w.deliver(h)
	if n := len(h.deliveries()); n != 9 {
		t.Fatalf("a FAILED event was sent again: %d requests", n)
	}
}

// An event between attempts survives a restart: a new Service on the
// reopened file delivers it, with the same webhook-id.
func TestWebhook_DeliveredAfterRestart(t *testing.T) {
	w := newWorld(t)
	h := newHook(t, 503, 200)
	w.webhook(cpID, h.srv.URL)
	w.paid(normal, 5000)
	w.deliver(h)
	w.restart()
	w.clock.Advance(time.Minute)
	if d, _ := w.deliver(h); d != 1 {
		t.Fatalf("after the restart: %d delivered, want 1", d)
	}
	got := h.deliveries()
	if len(got) != 2 || got[0].id() != got[1].id() || h.acked() != 1 {
		t.Fatalf("requests %v", got)
	}
}

// A server that dies while its attempt is on the wire (here: its store
// closes before the answer is recorded) leaves the event claimed; after the
// claim runs out, the restarted server sends it again, with the same
// webhook-id for the merchant to drop.
func TestWebhook_ResentAfterACrashMidAttempt(t *testing.T) {
	w := newWorld(t)
	h := newHook(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.answer = func(d delivery) int {
		once.Do(func() {
			close(entered)
			<-release
		})
		return http.StatusOK
	}
	w.webhook(cpID, h.srv.URL)
	w.paid(normal, 5000)
	result := make(chan error, 1)
	crashing := w.svc
	go func() {
		_, _, err := crashing.DeliverWebhooks(context.Background(), h.srv.Client())
		result <- err
	}()
	<-entered
	w.restart() // the first attempt's outcome is never recorded
	close(release)
	if err := <-result; err == nil {
		t.Fatal("the crashed server recorded its attempt")
	}
	if d, f := w.deliver(h); d+f != 0 {
		t.Fatal("a claimed attempt was sent again before its claim ran out")
	}
	w.clock.Advance(2 * time.Minute)
	if d, _ := w.deliver(h); d != 1 {
		t.Fatalf("%d delivered after the claim ran out, want 1", d)
	}
	got := h.deliveries()
	if len(got) != 2 || got[0].id() != got[1].id() {
		t.Fatalf("requests %v, want the same event twice", got)
	}
}

// Every status change a merchant is told about writes one event, in the
// transaction that makes it; nothing else does.
func TestWebhook_EventTypes(t *testing.T) {
	const (
		paid      = payment.WebhookPaid
		failed    = payment.WebhookFailed
		partCanc  = payment.WebhookPartiallyCancelled
		cancelled = payment.WebhookCancelled
		partRef   = payment.WebhookPartiallyRefunded
		refunded  = payment.WebhookRefunded
	)
	cancel := func(w *world, tid, id string, amount int64) payment.CancelResult {
		w.clock.Advance(time.Second) // events list by time
		r, err := w.svc.Cancel(w.ctx(), payment.CancelRequest{ID: id, CPID: cpID, OTID: tid, Amount: amount})
		if err != nil {
			w.t.Fatal(err)
		}
		return r
	}
	unknown := func(w *world, phone string) string {
		tid := w.verified(phone, 10_000)
		ctx, stop := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer stop()
		if c, _ := w.svc.Charge(ctx, cpID, tid, 10_000); c.Code != payment.CodeBillUnknown {
			w.t.Fatalf("%+v", c)
		}
		if e := w.events(payment.EventFilter{TID: tid}); len(e) != 0 {
			w.t.Fatalf("events while UNKNOWN: %+v", e)
		}
		w.clock.Advance(2 * time.Hour)
		if _, err := w.svc.Recover(w.ctx()); err != nil {
			w.t.Fatal(err)
		}
		return tid
	}
	tests := []struct {
		name     string
		run      func(w *world) string
		want     []string
		failCode string
	}{
		{"paid", func(w *world) string { return w.paid(normal, 1000) }, []string{paid}, ""},
		{"declined", func(w *world) string {
			tid := w.verified("01099990004", 1000)
			w.svc.Charge(w.ctx(), cpID, tid, 1000)
			return tid
		}, []string{failed}, payment.CodeBillDeclined},
		{"limit exceeded at the charge", func(w *world) string {
			a, b := w.verified(normal, 250_000), w.verified(normal, 60_000)
			w.svc.Charge(w.ctx(), cpID, a, 250_000)
			w.svc.Charge(w.ctx(), cpID, b, 60_000)
			return b
		}, []string{failed}, payment.CodeLimitExceeded},
		{"OTP locked", func(w *world) string {
			w.n++
			tid := fmt.Sprintf("T%025d", w.n)
			w.svc.Register(w.ctx(), payment.Order{TID: tid, CPID: cpID, Amount: 100})
			w.svc.CheckRisk(w.ctx(), tid, normal)
			w.svc.VerifyIdentity(w.ctx(), tid, user(normal))
			w.svc.SendOTP(w.ctx(), tid, user(normal))
			wrong := fmt.Sprintf("%06d", (atoi(w.lastOTP(normal))+1)%1_000_000)
			for range 6 {
				w.svc.VerifyOTP(w.ctx(), tid, wrong)
			}
			return tid
		}, []string{failed}, payment.CodeOTPLocked},
		{"unknown, charged: net-cancelled", func(w *world) string { return unknown(w, "01099990005") },
			[]string{failed}, payment.CodeBillNetCancelled},
		{"unknown, not charged", func(w *world) string { return unknown(w, "01099990006") },
			[]string{failed}, payment.CodeBillNotCharged},
		{"cancelled in three parts", func(w *world) string {
			tid := w.paid(normal, 10_000)
			cancel(w, tid, "C1", 3000)
			cancel(w, tid, "C2", 3000)
			cancel(w, tid, "C3", 0)
			cancel(w, tid, "C4", 0) // nothing left: no change, no event
			return tid
		}, []string{paid, partCanc, partCanc, cancelled}, ""},
		{"refunded in two parts", func(w *world) string {
			tid := w.paid(normal, 10_000)
			w.clock.Advance(31 * 24 * time.Hour)
			cancel(w, tid, "R1", 4000)
			cancel(w, tid, "R2", 0)
			return tid
		}, []string{paid, partRef, refunded}, ""},
		{"cancelled, then refunded", func(w *world) string {
			tid := w.paid(normal, 10_000)
			cancel(w, tid, "C1", 4000)
			w.clock.Advance(31 * 24 * time.Hour)
			cancel(w, tid, "R1", 0)
			return tid
		}, []string{paid, partCanc, refunded}, ""},
		{"cancel refused", func(w *world) string {
			tid := w.paid("01099990008", 10_000)
			if r := cancel(w, tid, "C1", 0); r.Code != payment.CodeCancelRefused {
				w.t.Fatalf("%+v", r)
			}
			return tid
		}, []string{paid}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.webhook(cpID, "https://shop.example/hooks")
			tid := tt.run(w)
			events := w.events(payment.EventFilter{TID: tid})
			var types []string
			for _, e := range events {
				types = append(types, e.Type)
				var body struct {
					Type string       `json:"type"`
					Data payment.View `json:"data"`
				}
				if err := json.Unmarshal(e.Body, &body); err != nil || body.Type != e.Type || body.Data.TID != tid ||
					e.CPID != cpID || e.Status != payment.EventPending || !strings.HasPrefix(e.ID, "msg_") {
					t.Fatalf("event %+v: body %s", e, e.Body)
				}
			}
			if !slices.Equal(types, tt.want) {
				t.Fatalf("events %v, want %v", types, tt.want)
			}
			var last struct {
				Data payment.View `json:"data"`
			}
			json.Unmarshal(events[len(events)-1].Body, &last)
			if last.Data.FailCode != tt.failCode || last.Data.Status != w.payment(tid).Status {
				t.Fatalf("the last event shows %s %q; the payment is %s, want fail code %q",
					last.Data.Status, last.Data.FailCode, w.payment(tid).Status, tt.failCode)
			}
		})
	}
}

// Only a merchant with a webhook URL gets events: not one without, not one
// unknown to the store, not one whose URL was removed.
func TestWebhook_OnlyMerchantsWithAURL(t *testing.T) {
	w := newWorld(t)
	w.webhook(cpID, "https://shop.example/hooks")
	if _, _, err := w.svc.AddMerchant(w.ctx(), "other", "Other"); err != nil {
		t.Fatal(err)
	}
	pay := func(cp string) string {
		tid := w.verifiedFor(cp, normal, 1000)
		c, err := w.svc.Charge(w.ctx(), cp, tid, 1000)
		must(t, c.Outcome, err)
		return tid
	}
	mine := pay(cpID)
	pay("other")
	pay("ghost") // no merchant row at all
	if e := w.events(payment.EventFilter{}); len(e) != 1 || e[0].TID != mine {
		t.Fatalf("events %+v, want only %s's", e, mine)
	}
	if secret, err := w.svc.SetWebhook(w.ctx(), cpID, ""); err != nil || secret != "" {
		t.Fatalf("removing the webhook: %q, %v", secret, err)
	}
	pay(cpID)
	if e := w.events(payment.EventFilter{}); len(e) != 1 {
		t.Fatalf("%d events after the webhook was removed, want still 1", len(e))
	}
	if _, err := w.svc.SetWebhook(w.ctx(), "ghost", "https://ghost.example/"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("SetWebhook of an unknown merchant: %v", err)
	}
}

// Only http and https URLs are registered, and nothing is ever sent
// anywhere else, even to a URL written to the store by other means; a
// redirect is a failed attempt, never followed.
func TestWebhook_OnlyHTTPAndHTTPS(t *testing.T) {
	w := newWorld(t)
	w.webhook(cpID, "https://shop.example/hooks")
	for _, u := range []string{"ftp://shop.example/", "file:///etc/passwd", "javascript:alert(1)", "/hooks", "shop.example/hooks",
		"http://", "gopher://shop.example/"} {
		if _, err := w.svc.SetWebhook(w.ctx(), cpID, u); !errors.Is(err, payment.ErrWebhookURL) {
			t.Errorf("SetWebhook(%q): %v, want ErrWebhookURL", u, err)
		}
	}
	var sent []string
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, r.URL.String())
		return nil, errors.New("no network in this test")
	})}
	w.store.Update(w.ctx(), func(tx payment.Tx) error {
		m, _ := tx.Merchant(cpID)
		m.WebhookURL = "file:///etc/passwd"
		return tx.PutMerchant(m)
	})
	w.paid(normal, 1000)
	if d, f, err := w.svc.DeliverWebhooks(w.ctx(), client); err != nil || d != 0 || f != 1 || len(sent) != 0 {
		t.Fatalf("delivered %d, failed %d, %v; sent to %v", d, f, err, sent)
	}

	target := newHook(t)
	redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	w2 := newWorld(t)
	w2.webhook(cpID, redirect.URL)
	w2.paid(normal, 1000)
	d, f, err := w2.svc.DeliverWebhooks(w2.ctx(), nil)
	if err != nil || d != 0 || f != 1 || len(target.deliveries()) != 0 {
		t.Fatalf("a redirect: delivered %d, failed %d, %v; %d followed", d, f, err, len(target.deliveries()))
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A new secret replaces the old one at once.
func TestWebhook_SetWebhookRotatesTheSecret(t *testing.T) {
	w := newWorld(t)
	h := newHook(t)
	old := w.webhook(cpID, h.srv.URL)
	secret := w.webhook(cpID, h.srv.URL)
	if secret == old {
		t.Fatal("the secret was not replaced")
	}
	w.paid(normal, 1000)
	w.deliver(h)
	d := h.deliveries()[0]
	ts, sig := d.header.Get("webhook-timestamp"), d.header.Get("webhook-signature")
	if !verifyAsDocumented(secret, d.id(), ts, d.body, sig) || verifyAsDocumented(old, d.id(), ts, d.body, sig) {
		t.Fatal("the event is not signed with the new secret alone")
	}
}

// Two dispatchers of two servers on one store, passing at once, send each
// event once.
func TestWebhook_ConcurrentDispatchersSendOnce(t *testing.T) {
	w := newWorld(t)
	h := newHook(t)
	h.answer = func(delivery) int {
		time.Sleep(20 * time.Millisecond)
		return http.StatusOK
	}
	w.webhook(cpID, h.srv.URL)
	for range 5 {
		w.paid(normal, 1000)
	}
	other, err := payment.New(payment.Options{Store: w.store, Carrier: w.sim, Key: []byte(strings.Repeat("k", 32)), Now: w.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, svc := range []*payment.Service{w.svc, other, w.svc, other} {
		wg.Go(func() {
			if _, _, err := svc.DeliverWebhooks(w.ctx(), h.srv.Client()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, d := range h.deliveries() {
		seen[d.id()]++
	}
	if len(seen) != 5 || len(h.deliveries()) != 5 {
		t.Fatalf("requests per event %v, want 5 events once each", seen)
	}
}

// RunWebhooks delivers without being asked.
func TestRunWebhooks(t *testing.T) {
	w := newWorld(t)
	h := newHook(t)
	w.webhook(cpID, h.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		payment.RunWebhooks(ctx, w.svc, 10*time.Millisecond, nil)
		close(done)
	}()
	w.paid(normal, 1000)
	deadline := time.Now().Add(5 * time.Second)
	for h.acked() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if h.acked() != 1 {
		t.Fatalf("%d events acknowledged, want 1", h.acked())
	}
}

// Two servers on one PostgreSQL schema, their dispatchers passing at once,
// send each event once: the claim is a row lock, not a lock in a process.
func TestWebhook_ConcurrentDispatchersSendOnce_Postgres(t *testing.T) {
	url := os.Getenv("TUNA_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("no PostgreSQL: set TUNA_TEST_POSTGRES_URL")
	}
	schema := fmt.Sprintf("payment_webhook_test_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), url)
		if err == nil {
			_, err = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			conn.Close(context.Background())
		}
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	h := newHook(t)
	h.answer = func(delivery) int {
		time.Sleep(20 * time.Millisecond)
		return http.StatusOK
	}
	var services []*payment.Service
	for range 2 {
		store, err := pgstore.Open(t.Context(), url, &pgstore.Options{Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		carrier, err := sim.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { carrier.Close() })
		svc, err := payment.New(payment.Options{Store: store, Carrier: carrier, Key: []byte(strings.Repeat("k", 32))})
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, svc)
	}
	now := time.Now()
	err := services[0].Store().Update(t.Context(), func(tx payment.Tx) error {
		m := &payment.Merchant{ID: cpID, WebhookURL: h.srv.URL, WebhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
		if err := tx.PutMerchant(m); err != nil {
			return err
		}
		for i := range 6 {
			e := &payment.Event{ID: fmt.Sprintf("msg_%d", i), CPID: cpID, TID: fmt.Sprintf("T%d", i), Type: payment.WebhookPaid,
				Body: []byte(`{}`), CreatedAt: now, NextAt: now, Status: payment.EventPending}
			if err := tx.PutEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if _, _, err := services[i%2].DeliverWebhooks(t.Context(), h.srv.Client()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for _, d := range h.deliveries() {
		seen[d.id()]++
	}
	if len(seen) != 6 || len(h.deliveries()) != 6 {
		t.Fatalf("requests per event %v, want 6 events once each", seen)
	}
}

package payment_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/session/storetest"
)

const (
	cpID   = "shop"
	normal = "01012345678"
)

type world struct {
	t     *testing.T
	svc   *payment.Service
	sim   *sim.Simulator
	store *boltstore.Store
	path  string // the store's file
	clock *storetest.Clock
	logs  *observer.ObservedLogs
	n     int
}

func newWorld(t *testing.T, tweak ...func(*payment.Options)) *world {
	t.Helper()
	c := storetest.NewClock(time.Date(2026, 3, 10, 3, 0, 0, 0, time.UTC)) // 12:00 in Seoul
	path := filepath.Join(t.TempDir(), "payment.db")
	store, err := boltstore.Open(path, &boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	carrier, err := sim.New(&sim.Options{Now: c.Now, UnknownFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { carrier.Close() })
	core, logs := observer.New(zap.DebugLevel)
	opts := payment.Options{Store: store, Carrier: carrier, Key: []byte(strings.Repeat("k", 32)), Now: c.Now,
		Log: zap.New(core), CarrierSettle: -1, RecoverAfter: time.Minute,
		Blocked: func(p string) bool { return p == "01099990002" }}
	for _, f := range tweak {
		f(&opts)
	}
	svc, err := payment.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, svc: svc, sim: carrier, store: store, path: path, clock: c, logs: logs}
}

func (w *world) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	w.t.Cleanup(cancel)
	return ctx
}

func user(phone string) payment.Identity {
	return payment.Identity{Name: "홍길동", Phone: phone, Carrier: "SKT", Birth: "19900101", Gender: "M"}
}

// verified walks a payment of amount to VERIFIED for phone and returns its TID.
func (w *world) verified(phone string, amount int64) string {
	w.t.Helper()
	return w.verifiedFor(cpID, phone, amount)
}

// verifiedFor is verified for merchant cp.
func (w *world) verifiedFor(cp, phone string, amount int64) string {
	w.t.Helper()
	w.n++
	tid := fmt.Sprintf("T%025d", w.n)
	ctx := w.ctx()
	r, err := w.svc.Register(ctx, payment.Order{TID: tid, CPID: cp, ProductID: "p", ProductName: "Tea", Amount: amount})
	must(w.t, r.Outcome, err)
	risk, err := w.svc.CheckRisk(ctx, tid, phone)
	must(w.t, risk.Outcome, err)
	id, err := w.svc.VerifyIdentity(ctx, tid, user(phone))
	must(w.t, id, err)
	sent, err := w.svc.SendOTP(ctx, tid, user(phone))
	must(w.t, sent.Outcome, err)
	v, err := w.svc.VerifyOTP(ctx, tid, w.lastOTP(phone))
	must(w.t, v.Outcome, err)
	return tid
}

func (w *world) lastOTP(phone string) string {
	sms, err := w.sim.LastSMS(context.Background(), phone)
	if err != nil {
		w.t.Fatal(err)
	}
	return sms.OTP
}

func (w *world) paid(phone string, amount int64) string {
	w.t.Helper()
	tid := w.verified(phone, amount)
	c, err := w.svc.Charge(w.ctx(), cpID, tid, amount)
	must(w.t, c.Outcome, err)
	return tid
}

func must(t *testing.T, o payment.Outcome, err error) {
	t.Helper()
	if err != nil || !o.OK {
		t.Fatalf("%+v, %v", o, err)
	}
}

func (w *world) payment(tid string) *payment.Payment {
	w.t.Helper()
	var p *payment.Payment
	err := w.store.View(context.Background(), func(tx payment.Tx) error {
		var err error
		p, err = tx.Payment(tid)
		return err
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// books checks the money invariants: for every phone and month, the used
// limit is the sum of live charges and the held limit the sum of charges in
// flight; and the carrier's statement agrees with the ledger for each TID.
func (w *world) books() {
	w.t.Helper()
	ctx := context.Background()
	payments, err := w.store.Payments(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	used, held := map[string]int64{}, map[string]int64{}
	for _, p := range payments {
		key := p.Phone + "/" + p.BillMonth
		switch {
		case p.Status.Charged():
			used[key] += p.Amount - p.Cancelled - p.Refunded
		case p.Status == payment.StatusUnknown:
			held[key] += p.Amount
		}
		w.agrees(p)
	}
	limits, err := w.store.Limits(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, l := range limits {
		key := l.Phone + "/" + l.Month
		if l.Used != used[key] || l.Held != held[key] {
			w.t.Errorf("limit %s: used %d held %d, live charges %d in flight %d", key, l.Used, l.Held, used[key], held[key])
		}
		delete(used, key)
		delete(held, key)
	}
	for key, n := range used {
		if n != 0 {
			w.t.Errorf("limit %s: no row, live charges %d", key, n)
		}
	}
}

// agrees checks one payment against the carrier's side of the books.
func (w *world) agrees(p payment.Payment) {
	w.t.Helper()
	state, err := w.sim.Inquire(context.Background(), p.TID)
	if errors.Is(err, payment.ErrCarrierUnknown) {
		return // 005/006 during their outage
	}
	if err != nil {
		w.t.Fatal(err)
	}
	live := state.Amount - state.Cancelled - state.Refunded
	switch {
	case p.Status.Charged():
		if !state.Charged || live != p.Amount-p.Cancelled-p.Refunded || state.Cancelled != p.Cancelled || state.Refunded != p.Refunded {
			w.t.Errorf("%s: ledger %s %d/-%d/-%d, carrier %+v", p.TID, p.Status, p.Amount, p.Cancelled, p.Refunded, state)
		}
	case p.Status == payment.StatusFailed && state.Charged && live != 0:
		w.t.Errorf("%s: failed in the ledger, %d charged at the carrier", p.TID, live)
	}
}

func TestCharge_PaysOnceAndCommitsTheLimit(t *testing.T) {
	w := newWorld(t)
	tid := w.verified(normal, 10_000)
	first, err := w.svc.Charge(w.ctx(), cpID, tid, 10_000)
	must(t, first.Outcome, err)
	again, err := w.svc.Charge(w.ctx(), cpID, tid, 10_000)
	must(t, again.Outcome, err)
	if first != again || first.Status != payment.StatusPaid || first.Amount != 10_000 || first.PaidAt == "" {
		t.Fatalf("first %+v, again %+v", first, again)
	}
	if left, _ := w.svc.Remaining(w.ctx(), normal); left != 290_000 {
		t.Fatalf("remaining %d", left)
	}
	w.books()
}

func TestCharge_ConcurrentChargeOnce(t *testing.T) {
	w := newWorld(t)
	tid := w.verified(normal, 10_000)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := w.svc.Charge(w.ctx(), cpID, tid, 10_000)
			if err != nil || !c.OK {
				t.Errorf("%+v %v", c, err)
			}
		}()
	}
	wg.Wait()
	st, _ := w.sim.Statement(context.Background())
	if len(st) != 1 || st[0].Amount != 10_000 {
		t.Fatalf("statement %+v", st)
	}
	w.books()
}

func TestCharge_Refusals(t *testing.T) {
	w := newWorld(t)
	tid := w.verified(normal, 10_000)
	tests := []struct {
		name   string
		cp     string
		amount int64
		code   string
	}{
		{"another merchant", "other", 10_000, payment.CodePaymentNotFound},
		{"wrong amount", cpID, 9_999, payment.CodeAmountMismatch},
	}
	for _, tt := range tests {
		c, err := w.svc.Charge(w.ctx(), tt.cp, tid, tt.amount)
		if err != nil || c.OK || c.Code != tt.code {
			t.Errorf("%s: %+v %v", tt.name, c, err)
		}
	}
	if p := w.payment(tid); p.Status != payment.StatusVerified {
		t.Fatalf("a refused charge changed the payment: %s", p.Status)
	}
	w.n++
	unverified := fmt.Sprintf("T%025d", w.n)
	r, err := w.svc.Register(w.ctx(), payment.Order{TID: unverified, CPID: cpID, Amount: 100})
	must(t, r.Outcome, err)
	if c, _ := w.svc.Charge(w.ctx(), cpID, unverified, 100); c.Code != payment.CodeNotVerified {
		t.Fatalf("unverified: %+v", c)
	}
}

func TestCharge_Declined(t *testing.T) {
	w := newWorld(t)
	tid := w.verified("01099990004", 10_000)
	c, err := w.svc.Charge(w.ctx(), cpID, tid, 10_000)
	if err != nil || c.OK || c.Code != payment.CodeBillDeclined || c.Status != payment.StatusFailed {
		t.Fatalf("%+v %v", c, err)
	}
	if left, _ := w.svc.Remaining(w.ctx(), "01099990004"); left != 300_000 {
		t.Fatalf("the hold was not released: %d left", left)
	}
	w.books()
}

// The limit counts charges held in flight too.
func TestCharge_LimitExceeded(t *testing.T) {
	w := newWorld(t)
	w.paid(normal, 250_000)
	tid := w.verified(normal, 50_000) // 250,000 + 50,000 fits exactly
	w.n++
	over := fmt.Sprintf("T%025d", w.n)
	w.svc.Register(w.ctx(), payment.Order{TID: over, CPID: cpID, Amount: 1})
	must(t, func() payment.Outcome { c, _ := w.svc.Charge(w.ctx(), cpID, tid, 50_000); return c.Outcome }(), nil)
	if r, _ := w.svc.CheckRisk(w.ctx(), over, normal); r.OK || r.Code != payment.CodeLimitExceeded {
		t.Fatalf("risk check: %+v", r)
	}
	// The risk check passed before the first payment: the charge holds
	// the limit itself, and fails for good.
	w2 := newWorld(t)
	a, b := w2.verified(normal, 250_000), w2.verified(normal, 60_000)
	must(t, func() payment.Outcome { c, _ := w2.svc.Charge(w2.ctx(), cpID, a, 250_000); return c.Outcome }(), nil)
	c, err := w2.svc.Charge(w2.ctx(), cpID, b, 60_000)
	if err != nil || c.Code != payment.CodeLimitExceeded || w2.payment(b).Status != payment.StatusFailed {
		t.Fatalf("%+v %v", c, err)
	}
	w2.books()
}

// 01099990005: the carrier charged but its answer was lost, and it cannot
// be asked for a while. The merchant hears BILL_UNKNOWN; the payment is
// UNKNOWN, never FAILED; recovery then net-cancels the charge the merchant
// was never told about.
func TestCharge_UnknownCharged_RecoveredByNetCancel(t *testing.T) {
	w := newWorld(t)
	tid := w.verified("01099990005", 10_000)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	c, err := w.svc.Charge(ctx, cpID, tid, 10_000)
	if err != nil || c.Code != payment.CodeBillUnknown || c.Status != payment.StatusUnknown {
		t.Fatalf("%+v %v", c, err)
	}
	if left, _ := w.svc.Remaining(w.ctx(), "01099990005"); left != 290_000 {
		t.Fatalf("an unknown charge must hold the limit: %d left", left)
	}
	w.books()
	if r, _ := w.svc.Recover(w.ctx()); r.NetCancelled != 0 {
		t.Fatalf("recovered before RecoverAfter: %+v", r)
	}
	w.clock.Advance(2 * time.Hour) // past RecoverAfter and the carrier's outage
	r, err := w.svc.Recover(w.ctx())
	if err != nil || r.NetCancelled != 1 {
		t.Fatalf("recover %+v %v", r, err)
	}
	p := w.payment(tid)
	if p.Status != payment.StatusFailed || !p.NetCancelled || p.FailCode != payment.CodeBillNetCancelled {
		t.Fatalf("payment %+v", p)
	}
	if left, _ := w.svc.Remaining(w.ctx(), "01099990005"); left != 300_000 {
		t.Fatalf("limit not released: %d left", left)
	}
	if state, _ := w.sim.Inquire(w.ctx(), tid); state.Cancelled != 10_000 {
		t.Fatalf("carrier %+v", state)
	}
	w.books()
	again, _ := w.svc.Charge(w.ctx(), cpID, tid, 10_000)
	if again.Code != payment.CodeBillNetCancelled {
		t.Fatalf("a bill after the net cancel: %+v", again)
	}
}

// 01099990006: not charged, answer lost. Recovery fails it and releases.
func TestCharge_UnknownNotCharged_RecoveredAsFailed(t *testing.T) {
	w := newWorld(t)
	tid := w.verified("01099990006", 10_000)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if c, _ := w.svc.Charge(ctx, cpID, tid, 10_000); c.Code != payment.CodeBillUnknown {
		t.Fatalf("%+v", c)
	}
	w.clock.Advance(2 * time.Hour)
	if r, err := w.svc.Recover(w.ctx()); err != nil || r.NotCharged != 1 {
		t.Fatalf("recover %+v %v", r, err)
	}
	if p := w.payment(tid); p.Status != payment.StatusFailed || p.FailCode != payment.CodeBillNotCharged {
		t.Fatalf("payment %+v", p)
	}
	w.books()
}

// When the carrier can be asked within the step, the step resolves it.
func TestCharge_UnknownResolvedWithinTheStep(t *testing.T) {
	for phone, want := range map[string]payment.Status{"01099990005": payment.StatusPaid, "01099990006": payment.StatusFailed} {
		t.Run(phone, func(t *testing.T) {
			w := newWorld(t)
			w.sim.Close()
			carrier, _ := sim.New(&sim.Options{Now: w.clock.Now, UnknownFor: -1})
			svc, _ := payment.New(payment.Options{Store: w.store, Carrier: carrier, Key: []byte(strings.Repeat("k", 32)),
				Now: w.clock.Now, CarrierSettle: -1})
			w.svc, w.sim = svc, carrier
			tid := w.verified(phone, 10_000)
			c, err := w.svc.Charge(w.ctx(), cpID, tid, 10_000)
			if err != nil || c.Status != want {
				t.Fatalf("%+v %v", c, err)
			}
			w.books()
		})
	}
}

// A "not charged" answer is not trusted while the charge request may still
// be on its way to the carrier.
func TestCharge_NotChargedIsTrustedOnlyAfterSettle(t *testing.T) {
	w := newWorld(t)
	w.sim.Close()
	carrier, _ := sim.New(&sim.Options{Now: w.clock.Now, UnknownFor: -1})
	svc, _ := payment.New(payment.Options{Store: w.store, Carrier: carrier, Key: []byte(strings.Repeat("k", 32)),
		Now: w.clock.Now, CarrierSettle: time.Minute})
	w.svc, w.sim = svc, carrier
	tid := w.verified("01099990006", 10_000)
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	if c, _ := w.svc.Charge(ctx, cpID, tid, 10_000); c.Code != payment.CodeBillUnknown {
		t.Fatalf("%+v", c)
	}
	w.clock.Advance(2 * time.Minute)
	if c, _ := w.svc.Charge(w.ctx(), cpID, tid, 10_000); c.Code != payment.CodeBillNotCharged {
		t.Fatalf("the merchant asking again after the settle time: %+v", c)
	}
	w.books()
}

func TestCancel_SameMonthCancelsLaterMonthRefunds(t *testing.T) {
	tests := []struct {
		name       string
		paid, at   time.Time
		want       payment.CancelType
		wantStatus payment.Status
	}{
		{"the last second of January, then the first of February (KST)",
			kst(2026, 1, 31, 23, 59, 59), kst(2026, 2, 1, 0, 0, 0), payment.TypeRefund, payment.StatusRefunded},
		{"December 2025, then December 2026",
			kst(2025, 12, 15, 12, 0, 0), kst(2026, 12, 15, 12, 0, 0), payment.TypeRefund, payment.StatusRefunded},
		{"March 31st 15:30 UTC is April 1st in Seoul, cancelled April 20th",
			time.Date(2026, 3, 31, 15, 30, 0, 0, time.UTC), kst(2026, 4, 20, 9, 0, 0), payment.TypeCancel, payment.StatusCancelled},
		{"the same day", kst(2026, 5, 5, 10, 0, 0), kst(2026, 5, 5, 11, 0, 0), payment.TypeCancel, payment.StatusCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.clock.Set(tt.paid)
			tid := w.paid(normal, 10_000)
			month := payment.Month(tt.paid)
			w.clock.Set(tt.at)
			r, err := w.svc.Cancel(w.ctx(), payment.CancelRequest{ID: "C1", CPID: cpID, OTID: tid})
			must(t, r.Outcome, err)
			if r.Type != tt.want || r.Status != tt.wantStatus || r.CancelledAmount != 10_000 || r.RemainingAmount != 0 {
				t.Fatalf("%+v", r)
			}
			var lim *payment.Limit
			w.store.View(w.ctx(), func(tx payment.Tx) error { lim, err = tx.Limit(normal, month); return err })
			if lim.Used != 0 {
				t.Fatalf("the limit of %s was not given back: %+v", month, lim)
			}
			w.books()
		})
	}
}

func kst(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, payment.Seoul)
}

func TestCancel_PartialsNeverExceedTheCharge(t *testing.T) {
	w := newWorld(t)
	tid := w.paid(normal, 10_000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := int64(0)
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r, err := w.svc.Cancel(w.ctx(), payment.CancelRequest{ID: fmt.Sprintf("C%02d", i), CPID: cpID, OTID: tid, Amount: 700})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.OK:
				done += r.CancelledAmount
			case r.Code != payment.CodeCancelExceeds && r.Code != payment.CodeAlreadyCancelled:
				t.Errorf("cancel: %+v", r)
			}
		}(i)
	}
	wg.Wait()
	p := w.payment(tid)
	if done != 9_800 || p.Cancelled != 9_800 || p.Remaining() != 200 || p.Status != payment.StatusPartialCancelled {
		t.Fatalf("cancelled %d, payment %d remaining %d %s", done, p.Cancelled, p.Remaining(), p.Status)
	}
	r, _ := w.svc.Cancel(w.ctx(), payment.CancelRequest{ID: "CX", CPID: cpID, OTID: tid})
	if !r.OK || r.CancelledAmount != 200 || r.Status != payment.StatusCancelled {
		t.Fatalf("the rest: %+v", r)
	}
	if r, _ := w.svc.Cancel(w.ctx(), payment.CancelRequest{ID: "CY", CPID: cpID, OTID: tid}); r.Code != payment.CodeAlreadyCancelled {
		t.Fatalf("after a full cancel: %+v", r)
	}
	w.books()
}

func TestCancel_Refusals(t *testing.T) {
	w := newWorld(t)
	paid := w.paid(normal, 10_000)
	prepaid := w.paid("01099990008", 10_000)
	unpaid := w.verified(normal, 1_000)
	tests := []struct {
		name string
		req  payment.CancelRequest
		code string
	}{
		{"another merchant", payment.CancelRequest{CPID: "other", OTID: paid}, payment.CodeOriginalNotFound},
		{"unknown", payment.CancelRequest{CPID: cpID, OTID: "NOPE"}, payment.CodeOriginalNotFound},
		{"not paid", payment.CancelRequest{CPID: cpID, OTID: unpaid}, payment.CodeNotPaid},
		{"too much", payment.CancelRequest{CPID: cpID, OTID: paid, Amount: 10_001}, payment.CodeCancelExceeds},
		{"carrier refuses (prepaid)", payment.CancelRequest{CPID: cpID, OTID: prepaid}, payment.CodeCancelRefused},
	}
	for i, tt := range tests {
		tt.req.ID = fmt.Sprintf("R%d", i)
		r, err := w.svc.Cancel(w.ctx(), tt.req)
		if err != nil || r.OK || r.Code != tt.code {
			t.Errorf("%s: %+v %v", tt.name, r, err)
		}
	}
	if p := w.payment(prepaid); p.Remaining() != 10_000 || p.Status != payment.StatusPaid {
		t.Fatalf("a refused cancel changed the payment: %+v", p)
	}
	w.books()
}

func TestCancel_IdempotencyKey(t *testing.T) {
	w := newWorld(t)
	tid := w.paid(normal, 10_000)
	first, err := w.svc.Cancel(w.ctx(), payment.CancelRequest{ID: "C1", CPID: cpID, OTID: tid, Amount: 3_000, IdempotencyKey: "k1"})
	must(t, first.Outcome, err)
	again, err := w.svc.Cancel(w.ctx(), payment.CancelRequest{ID: "C2", CPID: cpID, OTID: tid, Amount: 3_000, IdempotencyKey: "k1"})
	must(t, again.Outcome, err)
	if again.CancelledAmount != 3_000 || w.payment(tid).Cancelled != 3_000 {
		t.Fatalf("a repeat cancelled again: %+v, %d", again, w.payment(tid).Cancelled)
	}
	other, _ := w.svc.Cancel(w.ctx(), payment.CancelRequest{ID: "C3", CPID: cpID, OTID: tid, Amount: 1_000, IdempotencyKey: "k1"})
	if other.Code != payment.CodeIdempotencyReused {
		t.Fatalf("%+v", other)
	}
	w.books()
}

func TestOTP_Rules(t *testing.T) {
	w := newWorld(t)
	w.n++
	tid := fmt.Sprintf("T%025d", w.n)
	r, _ := w.svc.Register(w.ctx(), payment.Order{TID: tid, CPID: cpID, Amount: 100})
	must(t, r.Outcome, nil)
	if s, _ := w.svc.SendOTP(w.ctx(), tid, user(normal)); s.Code != payment.CodeUserNotChecked {
		t.Fatalf("an unchecked user got an OTP: %+v", s)
	}
	w.svc.CheckRisk(w.ctx(), tid, normal)
	w.svc.VerifyIdentity(w.ctx(), tid, user(normal))
	sent, err := w.svc.SendOTP(w.ctx(), tid, user(normal))
	must(t, sent.Outcome, err)
	if sent.Phone != "010****5678" {
		t.Fatalf("phone %q", sent.Phone)
	}
	otp := w.lastOTP(normal)
	w.clock.Advance(3*time.Minute + time.Second)
	if v, _ := w.svc.VerifyOTP(w.ctx(), tid, otp); v.Code != payment.CodeOTPExpired {
		t.Fatalf("expired: %+v", v)
	}
	w.svc.SendOTP(w.ctx(), tid, user(normal))
	otp = w.lastOTP(normal)
	wrong := fmt.Sprintf("%06d", (atoi(otp)+1)%1_000_000)
	for i := 1; i <= 5; i++ {
		v, _ := w.svc.VerifyOTP(w.ctx(), tid, wrong)
		want := payment.CodeOTPMismatch
		if i == 5 {
			want = payment.CodeOTPLocked
		}
		if v.Code != want || v.AttemptsLeft != 5-i {
			t.Fatalf("wrong answer %d: %+v", i, v)
		}
	}
	before := w.payment(tid)
	if v, _ := w.svc.VerifyOTP(w.ctx(), tid, otp); v.Code != payment.CodeOTPLocked {
		t.Fatalf("a sixth answer (right, even): %+v", v)
	}
	if after := w.payment(tid); after.Status != payment.StatusFailed || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("the sixth answer changed the payment: %+v", after)
	}
	for _, e := range w.logs.All() {
		if strings.Contains(e.Message+fmt.Sprint(e.ContextMap()), otp) {
			t.Fatalf("the OTP reached the log: %s", e.Message)
		}
	}
}

func TestOTP_SendLimitAndDistinct(t *testing.T) {
	w := newWorld(t)
	tid := w.verified(normal, 100)
	seen := map[string]bool{w.lastOTP(normal): true}
	for i := 2; i <= 5; i++ {
		s, err := w.svc.SendOTP(w.ctx(), tid, user(normal))
		must(t, s.Outcome, err)
		seen[w.lastOTP(normal)] = true
	}
	if s, _ := w.svc.SendOTP(w.ctx(), tid, user(normal)); s.Code != payment.CodeOTPSendLimit {
		t.Fatalf("a sixth OTP: %+v", s)
	}
	if len(seen) < 4 { // five draws of 10^6: a repeat is possible, two would be suspicious
		t.Fatalf("OTPs repeat: %v", seen)
	}
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func TestUser_Checks(t *testing.T) {
	w := newWorld(t)
	w.n++
	tid := fmt.Sprintf("T%025d", w.n)
	w.svc.Register(w.ctx(), payment.Order{TID: tid, CPID: cpID, Amount: 100})
	if r, _ := w.svc.CheckRisk(w.ctx(), tid, "01099990002"); r.Code != payment.CodeRMBlocked {
		t.Fatalf("blocked: %+v", r)
	}
	if r, _ := w.svc.VerifyIdentity(w.ctx(), tid, user("01099990001")); r.Code != payment.CodeIdentityMismatch {
		t.Fatalf("mismatch: %+v", r)
	}
	w.svc.CheckRisk(w.ctx(), tid, "01099990003")
	w.svc.VerifyIdentity(w.ctx(), tid, user("01099990003"))
	if r, _ := w.svc.SendOTP(w.ctx(), tid, user("01099990003")); r.Code != payment.CodeSMSNotDelivered {
		t.Fatalf("sms: %+v", r)
	}
}

func TestMerchant_Secrets(t *testing.T) {
	w := newWorld(t)
	m, secret, err := w.svc.AddMerchant(w.ctx(), "", "Shop")
	if err != nil || len(secret) < 22 { // base64 of ≥ 16 bytes: ≥ 128 bits
		t.Fatalf("%v %q", err, secret)
	}
	if _, ok := w.svc.Authenticate(w.ctx(), m.ID, secret); !ok {
		t.Fatal("the new merchant cannot authenticate")
	}
	if _, ok := w.svc.Authenticate(w.ctx(), m.ID, secret+"x"); ok {
		t.Fatal("a wrong secret authenticates")
	}
	ms, _ := w.store.Merchants(w.ctx())
	if len(ms) != 1 || strings.Contains(string(ms[0].SecretHash), secret) || len(ms[0].SecretHash) != 32 {
		t.Fatalf("stored %+v", ms)
	}
	if _, _, err := w.svc.AddMerchant(w.ctx(), m.ID, "again"); !errors.Is(err, payment.ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
}

func TestRegister_OrderIDUniqueAmongLiveAndPaid(t *testing.T) {
	w := newWorld(t)
	order := func(tid string) payment.Outcome {
		r, err := w.svc.Register(w.ctx(), payment.Order{TID: tid, CPID: cpID, OrderID: "o-1", Amount: 100})
		if err != nil {
			t.Fatal(err)
		}
		return r.Outcome
	}
	must(t, order("A"), nil)
	if o := order("B"); o.Code != payment.CodeOrderIDDuplicate {
		t.Fatalf("a live order id again: %+v", o)
	}
	w.clock.Advance(11 * time.Minute) // A expired unpaid
	must(t, order("C"), nil)
	if v, err := w.svc.LookupOrder(w.ctx(), cpID, "o-1"); err != nil || v.TID != "C" {
		t.Fatalf("lookup %+v %v", v, err)
	}
	if v, _ := w.svc.Lookup(w.ctx(), cpID, "A"); v.Status != payment.StatusExpired {
		t.Fatalf("A: %+v", v)
	}
	if _, err := w.svc.Lookup(w.ctx(), "other", "C"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("another merchant's lookup: %v", err)
	}
}

// Recovery never trusts "not charged" while the charge request may still be
// on its way, even with a RecoverAfter shorter than CarrierSettle.
func TestRecover_WaitsForTheSettleTime(t *testing.T) {
	w := newWorld(t)
	w.sim.Close()
	carrier, _ := sim.New(&sim.Options{Now: w.clock.Now, UnknownFor: 10 * time.Second})
	svc, _ := payment.New(payment.Options{Store: w.store, Carrier: carrier, Key: []byte(strings.Repeat("k", 32)),
		Now: w.clock.Now, CarrierSettle: time.Minute, RecoverAfter: time.Second})
	w.svc, w.sim = svc, carrier
	tid := w.verified("01099990006", 10_000)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if c, _ := w.svc.Charge(ctx, cpID, tid, 10_000); c.Code != payment.CodeBillUnknown {
		t.Fatalf("%+v", c)
	}
	w.clock.Advance(30 * time.Second) // the carrier answers again, but the request may be in flight
	if r, _ := w.svc.Recover(w.ctx()); r.NotCharged != 0 || w.payment(tid).Status != payment.StatusUnknown {
		t.Fatalf("recovered before the settle time: %+v", r)
	}
	w.clock.Advance(time.Minute)
	if r, _ := w.svc.Recover(w.ctx()); r.NotCharged != 1 {
		t.Fatalf("not recovered after the settle time: %+v", r)
	}
	w.books()
}

// gatedCarrier holds Cancel calls until released, to interleave two servers.
type gatedCarrier struct {
	payment.Carrier
	entered chan struct{}
	release chan struct{}
}

func (g *gatedCarrier) Cancel(ctx context.Context, tid, id string, amount int64) error {
	g.entered <- struct{}{}
	<-g.release
	return g.Carrier.Cancel(ctx, tid, id, amount)
}

// Two servers: one runs recovery and is about to net-cancel an unknown
// charge; meanwhile the merchant asks bill again on the other, which finds
// the charge at the carrier. It must not settle PAID a charge that is being
// cancelled: the books would say paid while the carrier took it back.
func TestRecover_NetCancelAndABillOnAnotherServer(t *testing.T) {
	w := newWorld(t)
	tid := w.verified("01099990005", 10_000)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if c, _ := w.svc.Charge(ctx, cpID, tid, 10_000); c.Code != payment.CodeBillUnknown {
		t.Fatalf("%+v", c)
	}
	w.clock.Advance(2 * time.Hour)
	gate := &gatedCarrier{Carrier: w.sim, entered: make(chan struct{}), release: make(chan struct{})}
	recoverer, _ := payment.New(payment.Options{Store: w.store, Carrier: gate, Key: []byte(strings.Repeat("k", 32)),
		Now: w.clock.Now, CarrierSettle: -1, RecoverAfter: time.Minute})
	done := make(chan payment.Recovered)
	go func() { r, _ := recoverer.Recover(context.Background()); done <- r }()
	<-gate.entered // recovery is at the carrier with its net cancel
	c, err := w.svc.Charge(w.ctx(), cpID, tid, 10_000)
	if err != nil || c.Status == payment.StatusPaid {
		t.Fatalf("the other server settled a charge being net-cancelled: %+v %v", c, err)
	}
	close(gate.release)
	if r := <-done; r.NetCancelled != 1 {
		t.Fatalf("recover %+v", r)
	}
	if p := w.payment(tid); p.Status != payment.StatusFailed || !p.NetCancelled || p.NetCancelling {
		t.Fatalf("payment %+v", p)
	}
	w.books()
}

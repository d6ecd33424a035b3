package payment

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components"
)

// Options configure a Service. Zero values mean the defaults noted.
type Options struct {
	Store   Store
	Carrier Carrier
	Key     []byte // server key (≥ 32 bytes) for keyed hashes of merchant secrets and OTPs
	Now     func() time.Time
	Log     *zap.Logger
	// MonthlyLimit per phone number and calendar month in Asia/Seoul, KRW; default 300,000.
	MonthlyLimit int64
	// PaymentTTL: how long a payment may wait between steps before it
	// expires, as its session does; default 10m.
	PaymentTTL  time.Duration
	OTPTTL      time.Duration // default 3m
	MaxOTPSend  int           // OTPs sent per transaction; default 5
	MaxOTPWrong int           // wrong answers per transaction before it fails; default 5
	// CarrierSettle is the longest a charge or cancel request may still be on
	// its way to the carrier after the call that sent it gave up. A carrier
	// inquiry that says "not done" is trusted only that long after the
	// request was sent. Default 5s; negative means at once, for a carrier
	// in this process (no request can be in flight once its call returned).
	CarrierSettle time.Duration
	// ResolveFor bounds how long a step asks the carrier about a lost answer
	// before it tells the merchant BILL_UNKNOWN (or CANCEL_UNKNOWN); default 5s.
	ResolveFor time.Duration
	// RecoverAfter: a charge or cancel whose outcome is unknown this long is
	// resolved by Recover, not by the step that sent it; default 1m, and
	// never less than CarrierSettle.
	RecoverAfter time.Duration
	// Blocked is the risk manager's block list; nil blocks no one.
	Blocked func(phone string) bool
	// PayURL makes the URL of the payment window of a TID.
	PayURL func(tid string) string
	// WebhookSchedule is how long to wait after each failed attempt to
	// deliver a webhook event before the next (each jittered by ±10%);
	// after the last one fails the event is FAILED. Default
	// DefaultWebhookSchedule: nine attempts over about three days.
	WebhookSchedule []time.Duration
}

// Service is the payment application's money logic. It is safe for
// concurrent use by every runtime of a server, and by several servers
// sharing one Store.
type Service struct {
	opts   Options
	log    *zap.Logger
	holder string          // this Service's name for leases
	locks  [256]sync.Mutex // striped by TID: one resolution of a TID at a time in this process
}

// New checks opts and returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || opts.Carrier == nil {
		return nil, errors.New("payment: a Store and a Carrier are required")
	}
	if len(opts.Key) < 32 {
		return nil, errors.New("payment: the server key must be at least 32 bytes")
	}
	if slices.ContainsFunc(opts.WebhookSchedule, func(d time.Duration) bool { return d <= 0 }) {
		return nil, errors.New("payment: every wait of the webhook schedule must be positive")
	}
	opts = withDefaults(opts)
	return &Service{opts: opts, log: opts.Log, holder: randomString(9)}, nil
}

func withDefaults(o Options) Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	defaults := []struct {
		d   *time.Duration
		def time.Duration
	}{{&o.PaymentTTL, 10 * time.Minute}, {&o.OTPTTL, 3 * time.Minute}, {&o.RecoverAfter, time.Minute},
		{&o.ResolveFor, 5 * time.Second}}
	for _, d := range defaults {
		if *d.d <= 0 {
			*d.d = d.def
		}
	}
	if o.CarrierSettle == 0 {
		o.CarrierSettle = 5 * time.Second
	}
	// Recovery trusts a "not done" answer at once: only once no request can
	// still be on its way.
	o.RecoverAfter = max(o.RecoverAfter, o.CarrierSettle)
	if o.MonthlyLimit <= 0 {
		o.MonthlyLimit = 300_000
	}
	if o.MaxOTPSend <= 0 {
		o.MaxOTPSend = 5
	}
	if o.MaxOTPWrong <= 0 {
		o.MaxOTPWrong = 5
	}
	if o.Blocked == nil {
		o.Blocked = func(string) bool { return false }
	}
	if o.PayURL == nil {
		o.PayURL = func(tid string) string { return "/pay/" + tid }
	}
	if len(o.WebhookSchedule) == 0 {
		o.WebhookSchedule = DefaultWebhookSchedule
	}
	o.WebhookSchedule = slices.Clone(o.WebhookSchedule) // the caller's stays theirs
	return o
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.opts.Store }

// Carrier returns the service's carrier.
func (s *Service) Carrier() Carrier { return s.opts.Carrier }

// MonthlyLimit is the limit per phone number and month.
func (s *Service) MonthlyLimit() int64 { return s.opts.MonthlyLimit }

func (s *Service) now() time.Time { return s.opts.Now() }

// keyed is the keyed hash under which secrets and OTPs are stored.
func (s *Service) keyed(parts ...string) []byte {
	m := hmac.New(sha256.New, s.opts.Key)
	for _, p := range parts {
		fmt.Fprintf(m, "%d:%s;", len(p), p)
	}
	return m.Sum(nil)
}

// lock serializes this process's work on one TID (a step and the recovery
// sweep); the Store's transactions keep several processes consistent.
func (s *Service) lock(tid string) func() {
	h := fnv.New32a()
	h.Write([]byte(tid))
	mu := &s.locks[h.Sum32()%uint32(len(s.locks))]
	mu.Lock()
	return mu.Unlock
}

// update runs fn in a store transaction, with the step's context. The
// webhook events of the status changes fn made are written in the same
// transaction (emit), so an event is never lost nor made for a change that
// rolled back.
func (s *Service) update(ctx context.Context, fn func(Tx) error) error {
	return s.opts.Store.Update(context.WithoutCancel(ctx), func(tx Tx) error {
		w := newWatchTx(tx)
		if err := fn(w); err != nil {
			return err
		}
		return s.emit(w)
	})
}

// run runs fn in a transaction and answers OK, the Outcome fn aborted
// with, or an error.
func (s *Service) run(ctx context.Context, fn func(Tx) error) (Outcome, error) {
	if err := s.update(ctx, fn); err != nil {
		return asOutcome(err)
	}
	return okOutcome, nil
}

// Outcome is a business answer: OK, or a code (docs/errors.md) and a
// message for setFail. Scripts receive it as {ok, code, message, …}.
type Outcome struct {
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

var okOutcome = Outcome{OK: true, Code: "OK", Message: "success"}

func fail(code string) Outcome { return Outcome{Code: code, Message: messages[code]} }

// outcomeErr carries an Outcome out of a transaction that it aborts.
type outcomeErr struct{ o Outcome }

func (e *outcomeErr) Error() string { return e.o.Code }

func abort(code string) error { return &outcomeErr{fail(code)} }

// asOutcome turns an aborting error back into its Outcome; other errors
// stay errors (they become script exceptions: SCRIPT_ERROR).
func asOutcome(err error) (Outcome, error) {
	var oe *outcomeErr
	if errors.As(err, &oe) {
		return oe.o, nil
	}
	return Outcome{}, err
}

// SharedKey is where the server keeps its Service among the components'
// shared resources.
const SharedKey = "payment"

// From returns the server's Service for a component's factory.
func From(env components.Env) (*Service, error) {
	if env.Shared == nil {
		return nil, errors.New("payment: the server shares no payment service")
	}
	v, err := env.Shared.Get(SharedKey, nil)
	if err != nil {
		return nil, fmt.Errorf("payment: %w (does the server run the payment application?)", err)
	}
	svc, ok := v.(*Service)
	if !ok {
		return nil, fmt.Errorf("payment: %T shared as the payment service", v)
	}
	return svc, nil
}

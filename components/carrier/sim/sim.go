package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/internal/boltgroup"
	"github.com/tunapay/tuna/session"
)

var (
	_ payment.Carrier   = (*Simulator)(nil)
	_ payment.SMSOutbox = (*Simulator)(nil)
)

// The sandbox's test numbers; see the package documentation.
const (
	PhoneIdentityMismatch  = "01099990001"
	PhoneSMSNotDelivered   = "01099990003"
	PhoneDeclined          = "01099990004"
	PhoneChargedUnknown    = "01099990005"
	PhoneNotChargedUnknown = "01099990006"
	PhonePrepaid           = "01099990008"
)

// Errors of the simulator itself; the carrier's answers are the sentinels
// of package payment. Test them with errors.Is.
var (
	// ErrConflict: a TID or cancel ID was reused with other parameters.
	// Nothing changed.
	ErrConflict = errors.New("sim: TID or cancel ID reused with other parameters")
	// ErrInvalid: a TID or cancel ID is empty.
	ErrInvalid = errors.New("sim: invalid request")
	// ErrClosed: the simulator was closed.
	ErrClosed = errors.New("sim: closed")
)

// DefaultUnknownFor is how long inquiry of a 005 or 006 TID stays unknown.
const DefaultUnknownFor = 20 * time.Second

// Options configure New. A nil *Options means defaults: in memory, no
// latency, no random failures.
type Options struct {
	// Path is the bbolt file of the carrier's books; "" keeps them in
	// memory only.
	Path string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Latency is added to every Carrier call, honouring its context.
	Latency time.Duration
	// UnknownFor is how long Inquire of a 005 or 006 TID answers
	// ErrCarrierUnknown after the charge; 0 means DefaultUnknownFor, a
	// negative value none.
	UnknownFor time.Duration
	// FailRate is the probability, 0 to 1, that a Charge, Cancel or Refund
	// answers ErrCarrierUnknown: half of those after applying the request,
	// half without. The draws are deterministic given Seed.
	FailRate float64
	Seed     int64
	// Log gets no phone numbers and no message texts; nil means none.
	Log *zap.Logger
}

// Simulator is the sandbox carrier. It is safe for concurrent use.
type Simulator struct {
	now        func() time.Time
	latency    time.Duration
	unknownFor time.Duration
	failRate   float64
	log        *zap.Logger
	db         *bolt.DB             // nil in memory
	group      *boltgroup.Committer // db's writes, group-committed
	// locks serialize the changes of one TID (and of one cancel ID), whose
	// durable write happens outside mu so that writes to other TIDs share
	// its commit.
	locks *session.Locks

	mu      sync.Mutex
	closed  bool
	rng     *rand.Rand
	charges map[string]*Entry      // by TID, without a file only (store.go)
	cancels map[string]string      // cancel ID -> TID, without a file only
	sms     map[string]payment.SMS // latest by phone, for smsKept
	smsLog  []smsSent              // oldest first: what to forget when
	smsHead int                    // smsLog[:smsHead] is forgotten
}

// The sandbox inbox keeps an SMS for smsKept (an OTP lives 3 minutes), and
// at most smsMax of them, the oldest forgotten first: a sandbox under a
// load test, a new phone number per payment, holds a bounded inbox.
const (
	smsKept = 10 * time.Minute
	smsMax  = 10000
)

type smsSent struct {
	phone string
	at    time.Time
}

// New opens the simulator, restoring its books from opts.Path if the file
// exists.
func New(opts *Options) (*Simulator, error) {
	o, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	s := &Simulator{
		now: o.Now, latency: o.Latency, unknownFor: o.UnknownFor, failRate: o.FailRate, log: o.Log,
		rng:     rand.New(rand.NewPCG(uint64(o.Seed), 0)),
		charges: map[string]*Entry{}, cancels: map[string]string{}, sms: map[string]payment.SMS{},
		locks: session.NewLocks(),
	}
	if o.Path == "" {
		return s, nil
	}
	if s.db, err = openDB(o.Path); err != nil {
		return nil, err
	}
	s.group = boltgroup.New(s.db)
	return s, nil
}

func withDefaults(opts *Options) (Options, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if math.IsNaN(o.FailRate) || o.FailRate < 0 || o.FailRate > 1 {
		return o, fmt.Errorf("sim: fail rate %v is not between 0 and 1", o.FailRate)
	}
	if o.Latency < 0 {
		return o, fmt.Errorf("sim: negative latency %s", o.Latency)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.UnknownFor == 0 {
		o.UnknownFor = DefaultUnknownFor
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return o, nil
}

// Close closes the store. Later calls fail with ErrClosed; closing twice
// is harmless.
func (s *Simulator) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.db == nil {
		return nil
	}
	s.group.Close() // answers the writes already queued
	return s.db.Close()
}

// lockWait bounds the wait for another request on the same TID: a durable
// write, unless the machine is in trouble.
const lockWait = 10 * time.Second

// hold serializes the changes of one key; a request that cannot have it
// in time was not applied, and says its outcome is unknown like any
// carrier request that timed out.
func (s *Simulator) hold(ctx context.Context, key string) (func(), error) {
	release, err := s.locks.Hold(ctx, key, lockWait)
	if err != nil {
		return nil, unknown(err)
	}
	return release, nil
}

// wait adds the configured latency, or fails when ctx ends first.
func (s *Simulator) wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil || s.latency == 0 {
		return err
	}
	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unknown wraps err as an answer that may or may not have taken effect.
func unknown(err error) error {
	return fmt.Errorf("%w: %w", payment.ErrCarrierUnknown, err)
}

// fault is an injected lost answer.
type fault int

const (
	faultNone   fault = iota
	faultBefore       // the request is lost before the carrier applies it
	faultAfter        // the answer is lost after the carrier applied it
)

func (s *Simulator) draw() fault {
	if s.failRate == 0 {
		return faultNone
	}
	s.mu.Lock()
	r := s.rng.Float64()
	s.mu.Unlock()
	switch {
	case r < s.failRate/2:
		return faultAfter
	case r < s.failRate:
		return faultBefore
	}
	return faultNone
}

// mutate runs a Charge, Cancel or Refund: latency, then an injected fault
// if one is drawn, around apply.
func (s *Simulator) mutate(ctx context.Context, op, tid string, apply func() error) error {
	if err := s.wait(ctx); err != nil {
		return unknown(err)
	}
	f := s.draw()
	if f == faultBefore {
		s.log.Info("injected failure, not applied", zap.String("op", op), zap.String("tid", tid))
		return fmt.Errorf("%w: injected failure before %s", payment.ErrCarrierUnknown, op)
	}
	err := apply()
	if f == faultAfter {
		s.log.Info("injected failure after applying", zap.String("op", op), zap.String("tid", tid), zap.Error(err))
		return fmt.Errorf("%w: injected failure after %s", payment.ErrCarrierUnknown, op)
	}
	return err
}

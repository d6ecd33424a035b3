package sim

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
)

// The statuses of a charge attempt in the Statement.
const (
	StatusCharged            = "CHARGED"             // charged, nothing cancelled
	StatusPartiallyCancelled = "PARTIALLY_CANCELLED" // charged, part cancelled or refunded
	StatusCancelled          = "CANCELLED"           // charged, all cancelled or refunded
	StatusDeclined           = "DECLINED"            // declined, never charged
	StatusNotCharged         = "NOT_CHARGED"         // failed inside the carrier (006), never charged
)

// Entry is one charge attempt in the carrier's books.
type Entry struct {
	TID       string `json:"tid"`
	Phone     string `json:"phone_number"`
	Amount    int64  `json:"amount"` // asked for; charged only if Charged()
	Cancelled int64  `json:"cancelled"`
	Refunded  int64  `json:"refunded"`
	Status    string `json:"status"`
	// ChargedAt is when the carrier received the attempt.
	ChargedAt time.Time     `json:"charged_at"`
	Cancels   []CancelEntry `json:"cancels,omitempty"`
	// UnknownUntil is when Inquire starts to answer, for 005 and 006.
	UnknownUntil time.Time `json:"unknown_until,omitzero"`
}

// CancelEntry is one applied cancel or refund of a charge.
type CancelEntry struct {
	ID     string             `json:"id"`
	Type   payment.CancelType `json:"type"`
	Amount int64              `json:"amount"`
	At     time.Time          `json:"at"`
}

// Charged reports whether the carrier holds (or held) money for e.
func (e *Entry) Charged() bool {
	return e.Status != StatusDeclined && e.Status != StatusNotCharged
}

// Remaining is what may still be cancelled or refunded.
func (e *Entry) Remaining() int64 {
	if !e.Charged() {
		return 0
	}
	return e.Amount - e.Cancelled - e.Refunded
}

func (e *Entry) clone() *Entry {
	c := *e
	c.Cancels = slices.Clone(e.Cancels)
	return &c
}

// Charge charges amount to phone once per tid.
func (s *Simulator) Charge(ctx context.Context, tid, phone string, amount int64) error {
	return s.mutate(ctx, "charge", tid, func() error { return s.charge(ctx, tid, phone, amount) })
}

func (s *Simulator) charge(ctx context.Context, tid, phone string, amount int64) error {
	if tid == "" {
		return fmt.Errorf("%w: empty TID", ErrInvalid)
	}
	release, err := s.hold(ctx, tid)
	if err != nil {
		return err
	}
	defer release()
	if err := s.checkOpen(); err != nil {
		return err
	}
	e, err := s.entry(tid)
	if err != nil {
		return unknown(err)
	}
	if e != nil {
		if e.Phone != phone || e.Amount != amount {
			return fmt.Errorf("%w: TID %s was charged with another phone or amount", ErrConflict, tid)
		}
		return e.answer()
	}
	e = s.attempt(tid, phone, amount)
	if err := s.put(e, ""); err != nil {
		return unknown(err)
	}
	s.log.Debug("charge", zap.String("tid", tid), zap.Int64("amount", amount), zap.String("status", e.Status))
	return e.answer()
}

// attempt is the carrier's decision on a new charge.
func (s *Simulator) attempt(tid, phone string, amount int64) *Entry {
	now := s.now()
	e := &Entry{TID: tid, Phone: phone, Amount: amount, Status: StatusCharged, ChargedAt: now}
	switch {
	case phone == PhoneDeclined || amount <= 0:
		e.Status = StatusDeclined
	case phone == PhoneNotChargedUnknown:
		e.Status = StatusNotCharged
		e.UnknownUntil = now.Add(max(s.unknownFor, 0))
	case phone == PhoneChargedUnknown:
		e.UnknownUntil = now.Add(max(s.unknownFor, 0))
	}
	return e
}

// answer is what Charge said, and says again, for e.
func (e *Entry) answer() error {
	switch {
	case e.Status == StatusDeclined:
		return payment.ErrDeclined
	case e.Phone == PhoneChargedUnknown || e.Phone == PhoneNotChargedUnknown:
		return fmt.Errorf("%w: timed out inside the carrier", payment.ErrCarrierUnknown)
	}
	return nil
}

// Inquire says what the carrier knows of tid. For 005 and 006 it answers
// payment.ErrCarrierUnknown until UnknownFor has passed since the charge.
func (s *Simulator) Inquire(ctx context.Context, tid string) (payment.ChargeState, error) {
	if err := s.wait(ctx); err != nil {
		return payment.ChargeState{}, unknown(err)
	}
	if err := s.checkOpen(); err != nil {
		return payment.ChargeState{}, unknown(err)
	}
	e, err := s.entry(tid)
	switch {
	case err != nil:
		return payment.ChargeState{}, unknown(err)
	case e == nil:
		return payment.ChargeState{}, nil
	case s.now().Before(e.UnknownUntil):
		return payment.ChargeState{}, fmt.Errorf("%w: inquiry unavailable", payment.ErrCarrierUnknown)
	case !e.Charged():
		return payment.ChargeState{}, nil
	}
	return payment.ChargeState{Charged: true, Amount: e.Amount, Cancelled: e.Cancelled, Refunded: e.Refunded}, nil
}

// Statement returns every charge attempt the carrier received, sorted by
// TID: the carrier's side of the books.
func (s *Simulator) Statement(ctx context.Context) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return s.entries()
}

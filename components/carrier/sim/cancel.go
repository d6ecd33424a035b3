package sim

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
)

// Cancel cancels amount of tid's charge once per cancelID.
func (s *Simulator) Cancel(ctx context.Context, tid, cancelID string, amount int64) error {
	return s.mutate(ctx, "cancel", tid, func() error { return s.cancel(ctx, tid, cancelID, payment.TypeCancel, amount) })
}

// Refund refunds amount of tid's charge once per cancelID.
func (s *Simulator) Refund(ctx context.Context, tid, cancelID string, amount int64) error {
	return s.mutate(ctx, "refund", tid, func() error { return s.cancel(ctx, tid, cancelID, payment.TypeRefund, amount) })
}

func (s *Simulator) cancel(ctx context.Context, tid, cancelID string, typ payment.CancelType, amount int64) error {
	if tid == "" || cancelID == "" {
		return fmt.Errorf("%w: empty TID or cancel ID", ErrInvalid)
	}
	// The TID first, then the cancel ID: every cancel takes them in this
	// order, and a charge takes only the TID.
	release, err := s.hold(ctx, tid)
	if err != nil {
		return err
	}
	defer release()
	releaseID, err := s.hold(ctx, "cancel "+cancelID)
	if err != nil {
		return err
	}
	defer releaseID()
	if err := s.checkOpen(); err != nil {
		return err
	}
	owner, err := s.cancelOwner(cancelID)
	if err != nil {
		return unknown(err)
	}
	e, err := s.entry(tid)
	if err != nil {
		return unknown(err)
	}
	if owner != "" {
		return repeatCancel(e, owner, tid, cancelID, typ, amount)
	}
	if err := refusal(e, amount); err != nil {
		return err
	}
	e.apply(CancelEntry{ID: cancelID, Type: typ, Amount: amount, At: s.now()})
	if err := s.put(e, cancelID); err != nil {
		return unknown(err)
	}
	s.log.Debug(string(typ), zap.String("tid", tid), zap.String("cancel_id", cancelID), zap.Int64("amount", amount))
	return nil
}

// repeatCancel answers a cancel ID seen before: applied to e (tid's
// entry), or a conflict.
func repeatCancel(e *Entry, owner, tid, cancelID string, typ payment.CancelType, amount int64) error {
	if owner == tid && e != nil {
		for _, c := range e.Cancels {
			if c.ID == cancelID && c.Type == typ && c.Amount == amount {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: cancel ID %s was used with another TID, type or amount", ErrConflict, cancelID)
}

// refusal says why a new cancel of amount from e (nil if never seen) is
// refused, or nil.
func refusal(e *Entry, amount int64) error {
	switch {
	case e == nil || !e.Charged():
		return fmt.Errorf("%w: not charged", payment.ErrRefused)
	case e.Phone == PhonePrepaid:
		return fmt.Errorf("%w: prepaid subscriber", payment.ErrRefused)
	case amount <= 0:
		return fmt.Errorf("%w: amount %d", payment.ErrRefused, amount)
	case amount > e.Remaining():
		return fmt.Errorf("%w: amount %d exceeds the %d left", payment.ErrRefused, amount, e.Remaining())
	}
	return nil
}

// apply records c and updates the totals and the status.
func (e *Entry) apply(c CancelEntry) {
	e.Cancels = append(e.Cancels, c)
	if c.Type == payment.TypeRefund {
		e.Refunded += c.Amount
	} else {
		e.Cancelled += c.Amount
	}
	e.Status = StatusPartiallyCancelled
	if e.Remaining() == 0 {
		e.Status = StatusCancelled
	}
}

// InquireCancel says whether cancelID was applied to tid.
func (s *Simulator) InquireCancel(ctx context.Context, tid, cancelID string) (bool, error) {
	if err := s.wait(ctx); err != nil {
		return false, unknown(err)
	}
	if err := s.checkOpen(); err != nil {
		return false, unknown(err)
	}
	owner, err := s.cancelOwner(cancelID)
	if err != nil {
		return false, unknown(err)
	}
	return owner == tid, nil
}

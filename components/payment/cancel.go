package payment

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/failpoint"
)

// CancelRequest is a merchant's cancel or refund of payment OTID.
type CancelRequest struct {
	ID             string // the cancel's own TID: its idempotency key at the carrier
	CPID           string
	OTID           string
	Amount         int64 // 0: all that remains
	Reason         string
	IdempotencyKey string
}

// CancelResult is the answer to Cancel.
type CancelResult struct {
	Outcome
	Type            CancelType `json:"type"`
	CancelledAmount int64      `json:"cancelledAmount"`
	RemainingAmount int64      `json:"remainingAmount"`
	Status          Status     `json:"status"`
}

// Cancel cancels (same billing month in Asia/Seoul) or refunds (a later
// month) part or all of a paid payment, and gives the limit back to the
// month of the charge. Concurrent cancels never exceed the charge: each
// reserves its amount in one transaction before the carrier is called.
// A repeat with the same IdempotencyKey answers the first one's outcome.
func (s *Service) Cancel(ctx context.Context, r CancelRequest) (CancelResult, error) {
	defer s.lock(r.OTID)()
	c, p, fresh, out, err := s.reserveCancel(ctx, r)
	if err != nil || !out.OK || !fresh {
		return cancelResult(p, c, out), err
	}
	failpoint.Hit(failpoint.CancelBeforeCarrier)
	err = s.callCancel(ctx, p, c)
	failpoint.Hit(failpoint.CancelAfterCarrier)
	switch {
	case err == nil:
		p, c, err = s.finishCancel(ctx, r.OTID, c.ID, true, "")
	case errors.Is(err, ErrRefused):
		p, c, err = s.finishCancel(ctx, r.OTID, c.ID, false, CodeCancelRefused)
	default:
		s.log.Warn("cancel outcome unknown; asking the carrier", zap.String("tid", r.OTID), zap.String("cancel", c.ID), zap.Error(err))
		p, c, err = s.resolveCancelInStep(ctx, r.OTID, c.ID)
	}
	if err != nil {
		return CancelResult{}, err
	}
	failpoint.Hit(failpoint.CancelAfterLedger)
	return cancelResult(p, c, cancelOutcome(c)), nil
}

// reserveCancel checks the request and records the cancel PENDING, which
// takes its amount out of what remains. fresh is false when an earlier
// cancel with the same idempotency key answers instead.
func (s *Service) reserveCancel(ctx context.Context, r CancelRequest) (c *Cancel, p *Payment, fresh bool, out Outcome, err error) {
	out, err = s.run(ctx, func(tx Tx) error {
		var err error
		c, fresh = nil, false
		if p, err = loadOwned(tx, r.OTID, r.CPID, CodeOriginalNotFound); err != nil {
			return err
		}
		if prev, err := sameKey(p, r); prev != nil || err != nil {
			c = prev
			return err
		}
		amount, err := cancellable(p, r.Amount)
		if err != nil {
			return err
		}
		c = &Cancel{ID: r.ID, Type: cancelType(p, s.now()), Amount: amount, Reason: r.Reason,
			IdempotencyKey: r.IdempotencyKey, Status: CancelPending, RequestedAt: s.now()}
		p.Cancels, fresh = append(p.Cancels, *c), true
		return s.put(tx, p)
	})
	if err == nil && c != nil && !fresh {
		out = cancelOutcome(c)
	}
	return c, p, fresh, out, err
}

// sameKey finds an earlier cancel with the request's idempotency key.
func sameKey(p *Payment, r CancelRequest) (*Cancel, error) {
	if r.IdempotencyKey == "" {
		return nil, nil
	}
	for i := range p.Cancels {
		c := p.Cancels[i]
		if c.IdempotencyKey != r.IdempotencyKey {
			continue
		}
		if r.Amount != 0 && r.Amount != c.Amount {
			return nil, abort(CodeIdempotencyReused)
		}
		return &c, nil
	}
	return nil, nil
}

// cancellable checks that p may be cancelled by amount (0: all that
// remains) and returns the amount.
func cancellable(p *Payment, amount int64) (int64, error) {
	switch {
	case p.Status == StatusUnknown:
		return 0, abort(CodePaymentUnknown)
	case !p.Status.Charged():
		return 0, abort(CodeNotPaid)
	case amount < 0:
		return 0, abort(CodeInvalidAmount)
	case p.Remaining() == 0:
		return 0, abort(CodeAlreadyCancelled)
	case amount == 0:
		return p.Remaining(), nil
	case amount > p.Remaining():
		return 0, abort(CodeCancelExceeds)
	}
	return amount, nil
}

// cancelType: the same calendar month (year and month) in Asia/Seoul as
// the charge is a carrier cancel; any later month is a refund.
func cancelType(p *Payment, now time.Time) CancelType {
	if Month(now) == p.BillMonth {
		return TypeCancel
	}
	return TypeRefund
}

func (s *Service) callCancel(ctx context.Context, p *Payment, c *Cancel) error {
	if c.Type == TypeCancel {
		return s.opts.Carrier.Cancel(ctx, p.TID, c.ID, c.Amount)
	}
	return s.opts.Carrier.Refund(ctx, p.TID, c.ID, c.Amount)
}

// finishCancel records the carrier's answer to a pending cancel, once: done
// moves its amount to Cancelled or Refunded and gives the limit back to the
// charge's month; not done frees the reserved amount.
func (s *Service) finishCancel(ctx context.Context, tid, cancelID string, done bool, failCode string) (*Payment, *Cancel, error) {
	var p *Payment
	var c *Cancel
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if p, err = tx.Payment(tid); err != nil {
			return err
		}
		if c = findCancel(p, cancelID); c == nil || c.Status != CancelPending {
			return nil // finished by someone else
		}
		if !done {
			c.Status, c.FailCode = CancelFailed, failCode
			return s.put(tx, p)
		}
		return s.applyCancel(tx, p, c)
	})
	if c != nil {
		cc := *c
		c = &cc
	}
	return p, c, err
}

func (s *Service) applyCancel(tx Tx, p *Payment, c *Cancel) error {
	c.Status, c.DoneAt = CancelDone, s.now()
	if c.Type == TypeCancel {
		p.Cancelled += c.Amount
	} else {
		p.Refunded += c.Amount
	}
	p.Status = cancelledStatus(p)
	lim, err := tx.Limit(p.Phone, p.BillMonth)
	if err != nil {
		return err
	}
	lim.Used -= c.Amount
	if err := tx.PutLimit(lim); err != nil {
		return err
	}
	return s.put(tx, p)
}

func cancelledStatus(p *Payment) Status {
	full := p.Cancelled+p.Refunded >= p.Amount
	switch {
	case full && p.Refunded > 0:
		return StatusRefunded
	case full:
		return StatusCancelled
	case p.Refunded > 0:
		return StatusPartialRefunded
	case p.Cancelled > 0:
		return StatusPartialCancelled
	}
	return StatusPaid
}

func findCancel(p *Payment, id string) *Cancel {
	for i := range p.Cancels {
		if p.Cancels[i].ID == id {
			return &p.Cancels[i]
		}
	}
	return nil
}

// resolveCancelInStep asks the carrier about a cancel whose answer was lost,
// until the step's deadline is near.
func (s *Service) resolveCancelInStep(ctx context.Context, tid, cancelID string) (*Payment, *Cancel, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ResolveFor)
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		p, c, err := s.inquireCancel(ctx, tid, cancelID)
		if err != nil || c == nil || c.Status != CancelPending || !sleepWithin(ctx, wait, 300*time.Millisecond) {
			return p, c, err
		}
		wait = min(2*wait, time.Second)
	}
}

// inquireCancel settles a pending cancel if the carrier's answer can be
// trusted (see CarrierSettle).
func (s *Service) inquireCancel(ctx context.Context, tid, cancelID string) (*Payment, *Cancel, error) {
	p, err := s.payment(ctx, tid)
	if err != nil {
		return nil, nil, err
	}
	c := findCancel(p, cancelID)
	if c == nil || c.Status != CancelPending {
		return p, c, nil
	}
	done, err := s.opts.Carrier.InquireCancel(ctx, tid, cancelID)
	if err != nil || !done && s.now().Sub(c.RequestedAt) < s.opts.CarrierSettle {
		return p, c, nil
	}
	return s.finishCancel(ctx, tid, cancelID, done, CodeCancelNotApplied)
}

func cancelOutcome(c *Cancel) Outcome {
	switch {
	case c == nil:
		return fail(CodeCancelNotApplied)
	case c.Status == CancelDone:
		return okOutcome
	case c.Status == CancelPending:
		return fail(CodeCancelUnknown)
	case c.FailCode != "":
		return fail(c.FailCode)
	}
	return fail(CodeCancelNotApplied)
}

func cancelResult(p *Payment, c *Cancel, out Outcome) CancelResult {
	r := CancelResult{Outcome: out}
	if p != nil {
		r.RemainingAmount, r.Status = p.Remaining(), p.Status
	}
	if c != nil {
		r.Type = c.Type
		if c.Status == CancelDone {
			r.CancelledAmount = c.Amount
		}
	}
	return r
}

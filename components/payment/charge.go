package payment

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/failpoint"
)

// Charged is the answer to Charge.
type Charged struct {
	Outcome
	Amount int64  `json:"amount"`
	PaidAt string `json:"paidAt"`
	Status Status `json:"status"`
}

// Charge bills transaction tid for merchant cpID: amount must be the
// registered one. It is idempotent: a charged, failed or unknown payment
// answers its state and is never charged twice.
//
// The order of writes is what keeps money safe at every crash point:
//  1. one transaction holds the amount on the phone's monthly limit and
//     marks the payment UNKNOWN (a charge may be under way);
//  2. the carrier is asked to charge (idempotent per TID);
//  3. one transaction settles: PAID with the hold committed to the limit,
//     or FAILED with the hold released.
//
// When the carrier's answer is lost, the carrier is asked what happened
// for as long as the step's context allows; if it still cannot say, the
// payment stays UNKNOWN and the merchant is told BILL_UNKNOWN. Recover
// resolves it later.
func (s *Service) Charge(ctx context.Context, cpID, tid string, amount int64) (Charged, error) {
	defer s.lock(tid)()
	p, started, out, err := s.startCharge(ctx, cpID, tid, amount)
	switch {
	case err != nil || !out.OK:
		return charged(p, out), err
	case !started && p.Status == StatusUnknown:
		return s.resolveInStep(ctx, tid) // left by an earlier call; the merchant is asking again
	case !started:
		return s.answer(ctx, p)
	}
	failpoint.Hit(failpoint.BillBeforeCarrier)
	err = s.opts.Carrier.Charge(ctx, tid, p.Phone, p.Amount)
	failpoint.Hit(failpoint.BillAfterCarrier)
	switch {
	case err == nil:
		p, err = s.settle(ctx, tid, true, "")
	case errors.Is(err, ErrDeclined):
		p, err = s.settle(ctx, tid, false, CodeBillDeclined)
	default:
		s.log.Warn("charge outcome unknown; asking the carrier", zap.String("tid", tid), zap.Error(err))
		return s.resolveInStep(ctx, tid)
	}
	if err != nil {
		return Charged{}, err
	}
	failpoint.Hit(failpoint.BillAfterLedger)
	return charged(p, okOrFail(p)), nil
}

// startCharge checks the payment and, if it is VERIFIED, holds the limit
// and marks it UNKNOWN in one transaction; started reports that it did. It
// returns the payment as it then is.
func (s *Service) startCharge(ctx context.Context, cpID, tid string, amount int64) (p *Payment, started bool, out Outcome, err error) {
	out, err = s.run(ctx, func(tx Tx) error {
		var err error
		started = false // fn may run again
		if p, err = loadOwned(tx, tid, cpID, CodePaymentNotFound); err != nil {
			return err
		}
		switch p.ViewStatus(s.now()) {
		case StatusVerified:
		case StatusReady, StatusUserAuthed:
			return abort(CodeNotVerified)
		case StatusExpired:
			return abort(CodePaymentExpired)
		default:
			return nil // already charged, failed or unknown: answered as it is
		}
		if amount != p.Amount {
			return abort(CodeAmountMismatch)
		}
		return s.hold(tx, p, &started)
	})
	return p, started, out, err
}

// hold reserves p's amount on its phone's limit and marks it UNKNOWN, or
// fails it for good when the limit is not enough.
func (s *Service) hold(tx Tx, p *Payment, started *bool) error {
	now := s.now()
	month := Month(now)
	lim, err := tx.Limit(p.Phone, month)
	if err != nil {
		return err
	}
	if lim.Used+lim.Held+p.Amount > s.opts.MonthlyLimit {
		p.Status, p.FailCode, p.FailMessage = StatusFailed, CodeLimitExceeded, messages[CodeLimitExceeded]
		if err := s.put(tx, p); err != nil {
			return err
		}
		return nil // committed: the payment failed for good
	}
	lim.Held += p.Amount
	p.Status, p.ChargeStartedAt, p.BillMonth, *started = StatusUnknown, now, month, true
	if err := tx.PutLimit(lim); err != nil {
		return err
	}
	return s.put(tx, p)
}

// settle records the carrier's answer, once: PAID with the hold committed
// to the limit, or FAILED with the hold released. A payment no longer
// UNKNOWN was settled by someone else and is returned as it is; so is one
// that recovery claimed for a net cancel, which a step may not settle PAID.
func (s *Service) settle(ctx context.Context, tid string, charged bool, failCode string) (*Payment, error) {
	return s.settleAs(ctx, tid, charged, failCode, false)
}

// settleAs is settle; recovery passes claimed to settle a payment it
// claimed (a refused net cancel leaves the charge standing: PAID).
func (s *Service) settleAs(ctx context.Context, tid string, charged bool, failCode string, claimed bool) (*Payment, error) {
	var p *Payment
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if p, err = tx.Payment(tid); err != nil || p.Status != StatusUnknown || p.NetCancelling && !claimed {
			return err
		}
		p.NetCancelling = false
		lim, err := tx.Limit(p.Phone, p.BillMonth)
		if err != nil {
			return err
		}
		lim.Held -= p.Amount
		if charged {
			lim.Used += p.Amount
			p.Status, p.PaidAt = StatusPaid, s.now()
		} else {
			p.Status, p.FailCode, p.FailMessage = StatusFailed, failCode, messages[failCode]
		}
		if err := tx.PutLimit(lim); err != nil {
			return err
		}
		return s.put(tx, p)
	})
	return p, err
}

// resolveInStep asks the carrier what became of tid's charge until the
// step's deadline is near. A "not charged" is trusted only once the charge
// request can no longer be on its way (CarrierSettle after it was sent).
func (s *Service) resolveInStep(ctx context.Context, tid string) (Charged, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.ResolveFor)
	defer cancel()
	wait := 50 * time.Millisecond
	for {
		p, done, err := s.inquire(ctx, tid)
		if err != nil || done {
			return s.answer(ctx, p)
		}
		if !sleepWithin(ctx, wait, 300*time.Millisecond) {
			return s.answer(ctx, p)
		}
		wait = min(2*wait, time.Second)
	}
}

// inquire asks the carrier about an UNKNOWN payment and settles it if the
// answer can be trusted; done reports that it is no longer UNKNOWN.
func (s *Service) inquire(ctx context.Context, tid string) (*Payment, bool, error) {
	p, err := s.payment(ctx, tid)
	if err != nil || p.Status != StatusUnknown {
		return p, err == nil, err
	}
	state, err := s.opts.Carrier.Inquire(ctx, tid)
	if err != nil {
		return p, false, nil // the carrier cannot say yet
	}
	if !state.Charged && s.now().Sub(p.ChargeStartedAt) < s.opts.CarrierSettle {
		return p, false, nil // the request may still be on its way
	}
	p, err = s.settle(ctx, tid, state.Charged, CodeBillNotCharged)
	return p, err == nil, err
}

// answer tells the merchant the payment's state.
func (s *Service) answer(ctx context.Context, p *Payment) (Charged, error) {
	if p == nil {
		return Charged{}, errors.New("payment: no payment to answer")
	}
	return charged(p, okOrFail(p)), nil
}

func okOrFail(p *Payment) Outcome {
	switch {
	case p.Status.Charged():
		return okOutcome
	case p.Status == StatusUnknown:
		return fail(CodeBillUnknown)
	case p.FailCode != "":
		return fail(p.FailCode)
	}
	return fail(CodePaymentFailed)
}

func charged(p *Payment, out Outcome) Charged {
	c := Charged{Outcome: out}
	if p != nil {
		c.Amount, c.PaidAt, c.Status = p.Amount, iso(p.PaidAt), p.Status
	}
	return c
}

func (s *Service) payment(ctx context.Context, tid string) (*Payment, error) {
	var p *Payment
	err := s.opts.Store.View(context.WithoutCancel(ctx), func(tx Tx) error {
		var err error
		p, err = tx.Payment(tid)
		return err
	})
	return p, err
}

// sleepWithin sleeps d unless that would leave less than reserve before
// ctx's deadline; it reports whether it slept.
func sleepWithin(ctx context.Context, d, reserve time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d+reserve {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

package payment

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// Recovered counts what one Recover pass resolved.
type Recovered struct {
	Paid         int `json:"paid"`          // charged, and could not be net-cancelled: kept as paid
	NetCancelled int `json:"net_cancelled"` // charged, never confirmed to the merchant: cancelled (망취소)
	NotCharged   int `json:"not_charged"`
	Cancels      int `json:"cancels"` // pending cancels settled either way
	Pending      int `json:"pending"` // still unknown: the carrier could not say yet
}

// Recover resolves every charge and cancel whose outcome has been unknown
// for RecoverAfter: it runs at start-up and on a timer. A charge the
// merchant was never told about is net-cancelled (망취소); a charge that
// never happened fails; either way the limit follows. Several servers may
// run it at once: each resolution is a compare-and-set in the store, and
// the carrier calls are idempotent.
func (s *Service) Recover(ctx context.Context) (Recovered, error) {
	var r Recovered
	if ok, err := s.opts.Store.Lease(ctx, recoveryLease, s.holder, recoveryLeaseTTL); err != nil || !ok {
		return r, err // another server is running the pass
	}
	tids, err := s.opts.Store.Unresolved(ctx)
	if err != nil {
		return r, err
	}
	for _, tid := range tids {
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
		if err := s.recoverOne(ctx, tid, &r); err != nil {
			s.log.Warn("recovery of a payment failed; it is tried again later", zap.String("tid", tid), zap.Error(err))
			r.Pending++
		}
	}
	if r != (Recovered{}) {
		s.log.Info("recovery pass", zap.Any("resolved", r))
	}
	return r, nil
}

// The lease that lets one server at a time run a recovery pass. A pass
// that outlives it only risks repeating idempotent work.
const (
	recoveryLease    = "payment.recovery"
	recoveryLeaseTTL = 10 * time.Second
)

func (s *Service) recoverOne(ctx context.Context, tid string, r *Recovered) error {
	defer s.lock(tid)()
	p, err := s.payment(ctx, tid)
	if err != nil {
		return err
	}
	if p.Status == StatusUnknown && s.now().Sub(p.ChargeStartedAt) >= s.opts.RecoverAfter {
		if err := s.recoverCharge(ctx, p, r); err != nil {
			return err
		}
	}
	for _, c := range p.Cancels {
		if c.Status == CancelPending && s.now().Sub(c.RequestedAt) >= s.opts.RecoverAfter {
			if err := s.recoverCancel(ctx, tid, c.ID, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// recoverCharge resolves an UNKNOWN charge nobody is waiting for.
func (s *Service) recoverCharge(ctx context.Context, p *Payment, r *Recovered) error {
	state, err := s.opts.Carrier.Inquire(ctx, p.TID)
	if err != nil {
		r.Pending++
		return nil
	}
	if !state.Charged {
		r.NotCharged++
		_, err := s.settle(ctx, p.TID, false, CodeBillNotCharged)
		return err
	}
	if claimed, err := s.claimNetCancel(ctx, p.TID); err != nil || !claimed {
		return err // a step settled it meanwhile: nothing to cancel
	}
	err = s.opts.Carrier.Cancel(ctx, p.TID, netCancelID(p.TID), p.Amount)
	switch {
	case err == nil:
		r.NetCancelled++
		return s.settleNetCancelled(ctx, p.TID)
	case errors.Is(err, ErrRefused):
		// The carrier will not take it back (a prepaid customer): the charge
		// stands, so the books say paid. The merchant sees it in lookups.
		r.Paid++
		s.log.Warn("net cancel refused; the charge is kept as paid", zap.String("tid", p.TID))
		_, err := s.settleAs(ctx, p.TID, true, "", true)
		return err
	}
	r.Pending++
	return nil // unknown again: the next pass asks again (net cancel is idempotent)
}

func netCancelID(tid string) string { return "NET-" + tid }

// claimNetCancel marks an UNKNOWN payment as being net-cancelled, before
// the carrier is asked to, so that no step on any server settles it PAID
// meanwhile. It reports false if the payment is no longer UNKNOWN.
func (s *Service) claimNetCancel(ctx context.Context, tid string) (bool, error) {
	claimed := false
	err := s.update(ctx, func(tx Tx) error {
		claimed = false
		p, err := tx.Payment(tid)
		if err != nil || p.Status != StatusUnknown {
			return err
		}
		claimed, p.NetCancelling = true, true
		return tx.PutPayment(p)
	})
	return claimed, err
}

// settleNetCancelled records a net cancel: the payment failed, its hold is
// released, and the limit was never used.
func (s *Service) settleNetCancelled(ctx context.Context, tid string) error {
	return s.update(ctx, func(tx Tx) error {
		p, err := tx.Payment(tid)
		if err != nil || p.Status != StatusUnknown {
			return err
		}
		lim, err := tx.Limit(p.Phone, p.BillMonth)
		if err != nil {
			return err
		}
		lim.Held -= p.Amount
		p.Status, p.FailCode, p.FailMessage, p.NetCancelled = StatusFailed, CodeBillNetCancelled, messages[CodeBillNetCancelled], true
		p.NetCancelling = false
		if err := tx.PutLimit(lim); err != nil {
			return err
		}
		return s.put(tx, p)
	})
}

// recoverCancel resolves a PENDING cancel nobody is waiting for.
func (s *Service) recoverCancel(ctx context.Context, tid, cancelID string, r *Recovered) error {
	done, err := s.opts.Carrier.InquireCancel(ctx, tid, cancelID)
	if err != nil {
		r.Pending++
		return nil
	}
	r.Cancels++
	_, _, err = s.finishCancel(ctx, tid, cancelID, done, CodeCancelNotApplied)
	return err
}

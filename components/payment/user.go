package payment

import (
	"context"
	"errors"
	"strings"
)

// RiskCheck is the risk manager's answer for a user of a transaction.
type RiskCheck struct {
	Outcome
	Remaining int64 `json:"remaining"` // limit left this month, before this payment
}

// CheckRisk is the risk manager's check of phone for transaction tid: not
// blocked, and enough monthly limit left for the payment's amount. A pass is
// recorded on the transaction: OTPs go only to checked users.
func (s *Service) CheckRisk(ctx context.Context, tid, phone string) (RiskCheck, error) {
	var remaining int64
	out, err := s.run(ctx, func(tx Tx) error {
		p, err := s.openPayment(tx, tid)
		if err != nil {
			return err
		}
		if s.opts.Blocked(phone) {
			return abort(CodeRMBlocked)
		}
		lim, err := tx.Limit(phone, Month(s.now()))
		if err != nil {
			return err
		}
		remaining = s.opts.MonthlyLimit - lim.Used - lim.Held
		if remaining < p.Amount {
			return abort(CodeLimitExceeded)
		}
		p.RiskChecked = phone
		return s.put(tx, p)
	})
	return RiskCheck{Outcome: out, Remaining: max(remaining, 0)}, err
}

// Remaining is the limit phone has left this month.
func (s *Service) Remaining(ctx context.Context, phone string) (int64, error) {
	var lim *Limit
	err := s.opts.Store.View(ctx, func(tx Tx) error {
		var err error
		lim, err = tx.Limit(phone, Month(s.now()))
		return err
	})
	if err != nil {
		return 0, err
	}
	return max(s.opts.MonthlyLimit-lim.Used-lim.Held, 0), nil
}

// VerifyIdentity asks the carrier whether id is its subscriber's, and
// records a pass on transaction tid.
func (s *Service) VerifyIdentity(ctx context.Context, tid string, id Identity) (Outcome, error) {
	if err := s.opts.Carrier.VerifyIdentity(ctx, id); err != nil {
		if errors.Is(err, ErrIdentityMismatch) {
			return fail(CodeIdentityMismatch), nil
		}
		return Outcome{}, err
	}
	return s.run(ctx, func(tx Tx) error {
		p, err := s.openPayment(tx, tid)
		if err != nil {
			return err
		}
		p.IdentityChecked = id.Phone
		return s.put(tx, p)
	})
}

// openPayment reads tid for a step before the charge: it must exist, be
// before its charge and not expired.
func (s *Service) openPayment(tx Tx, tid string) (*Payment, error) {
	p, err := loadOwned(tx, tid, "", CodePaymentNotFound)
	if err != nil {
		return nil, err
	}
	switch p.ViewStatus(s.now()) {
	case StatusReady, StatusUserAuthed, StatusVerified:
		return p, nil
	case StatusExpired:
		return nil, abort(CodePaymentExpired)
	case StatusFailed:
		return nil, &outcomeErr{okOrFail(p)} // its own failure: OTP_LOCKED, LIMIT_EXCEEDED…
	}
	return nil, abort(CodePaymentFailed)
}

// put stamps p and slides its expiry, as its session's TTL slides.
func (s *Service) put(tx Tx, p *Payment) error {
	now := s.now()
	p.UpdatedAt = now
	if !p.Status.Charged() && p.Status != StatusUnknown && p.Status != StatusFailed {
		p.ExpiresAt = now.Add(s.opts.PaymentTTL)
	}
	return tx.PutPayment(p)
}

// MaskPhone shows a phone number as 010****5678.
func MaskPhone(phone string) string {
	if len(phone) < 8 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + "****" + phone[len(phone)-4:]
}

package payment

import (
	"context"
	"errors"
	"time"
)

// Order is what a merchant registers in cp_auth.
type Order struct {
	TID         string
	CPID        string
	OrderID     string
	ProductID   string
	ProductName string
	Amount      int64
	ReturnURL   string
}

// Registered is the answer to Register.
type Registered struct {
	Outcome
	TID       string `json:"tid"`
	PayURL    string `json:"payUrl"`
	ExpiresAt string `json:"expiresAt"`
}

// Register records a new payment, READY. An ORDER_ID may be used again
// only once its earlier payment failed or expired unpaid.
func (s *Service) Register(ctx context.Context, o Order) (Registered, error) {
	if o.Amount < 1 {
		return Registered{Outcome: fail(CodeInvalidAmount)}, nil
	}
	now := s.now()
	p := &Payment{TID: o.TID, CPID: o.CPID, OrderID: o.OrderID, ProductID: o.ProductID, ProductName: o.ProductName,
		Amount: o.Amount, ReturnURL: o.ReturnURL, Status: StatusReady, CreatedAt: now, UpdatedAt: now,
		ExpiresAt: now.Add(s.opts.PaymentTTL)}
	out, err := s.run(ctx, func(tx Tx) error {
		if o.OrderID != "" {
			prev, err := tx.PaymentByOrder(o.CPID, o.OrderID)
			switch {
			case err == nil && !reusable(prev, now):
				return abort(CodeOrderIDDuplicate)
			case err != nil && !errors.Is(err, ErrNotFound):
				return err
			}
		}
		return tx.PutPayment(p)
	})
	if err != nil || !out.OK {
		return Registered{Outcome: out}, err
	}
	return Registered{Outcome: out, TID: p.TID, PayURL: s.opts.PayURL(p.TID), ExpiresAt: iso(p.ExpiresAt)}, nil
}

// reusable reports whether an order id held by p may be used again.
func reusable(p *Payment, now time.Time) bool {
	return p.Status == StatusFailed || p.ViewStatus(now) == StatusExpired
}

// ViewStatus is the status a merchant sees at now: a payment left before
// its charge past its expiry is EXPIRED.
func (p *Payment) ViewStatus(now time.Time) Status {
	switch p.Status {
	case StatusReady, StatusUserAuthed, StatusVerified:
		if !now.Before(p.ExpiresAt) {
			return StatusExpired
		}
	}
	return p.Status
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Seoul).Format(time.RFC3339)
}

// loadOwned reads tid for update and checks it belongs to cpID ("" skips
// the check); another merchant's payment is not found, not forbidden.
func loadOwned(tx Tx, tid, cpID, notFound string) (*Payment, error) {
	p, err := tx.Payment(tid)
	if errors.Is(err, ErrNotFound) || err == nil && cpID != "" && p.CPID != cpID {
		return nil, abort(notFound)
	}
	return p, err
}

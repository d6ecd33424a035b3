// Package bill is the BILL component: the ledger of payments, their charge
// through the carrier against the user's monthly limit, and their cancels
// and refunds. Every money rule lives here, in Go: a script cannot charge
// twice, skip the limit, or cancel more than was paid.
//
//	BILL.register({orderId, productId, productName, price, returnUrl}, cp.id)
//	BILL.charge(cp.id, Number(reqMap.get("AMOUNT")))   // {ok, code, message, amount, paidAt, status}
//	BILL.cancel({cpId, oTid, amount, reason, idempotencyKey})
//	BILL.lookup(cp.id, tid)                             // the merchant's view of a payment, or null
package bill

import (
	"errors"
	"fmt"
	"math"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/payment"
)

func init() {
	components.Register("BILL", func(env components.Env) (any, error) {
		svc, err := payment.From(env)
		return &Bill{svc: svc}, err
	})
}

// Bill fronts the ledger.
type Bill struct{ svc *payment.Service }

// Register records this transaction's order for merchant cpID: READY.
func (b *Bill) Register(call *components.Call, order map[string]any, cpID string) (payment.Registered, error) {
	price, err := wholeKRW(order["price"])
	if err != nil {
		return payment.Registered{}, fmt.Errorf("order.price: %w", err)
	}
	return b.svc.Register(call.Context(), payment.Order{TID: call.TID, CPID: cpID, OrderID: str(order["orderId"]),
		ProductID: str(order["productId"]), ProductName: str(order["productName"]), Amount: price,
		ReturnURL: str(order["returnUrl"])})
}

// Charge bills this transaction for merchant cpID; amount must equal the
// registered price. Repeating it answers the first outcome.
func (b *Bill) Charge(call *components.Call, cpID string, amount int64) (payment.Charged, error) {
	return b.svc.Charge(call.Context(), cpID, call.TID, amount)
}

// Cancel cancels (same month) or refunds (later month) payment req.oTid,
// all that remains or req.amount of it. This transaction's TID is the
// cancel's id.
func (b *Bill) Cancel(call *components.Call, req map[string]any) (payment.CancelResult, error) {
	var amount int64
	if v, ok := req["amount"]; ok && v != nil {
		a, err := wholeKRW(v)
		if err != nil {
			return payment.CancelResult{}, fmt.Errorf("req.amount: %w", err)
		}
		amount = a
	}
	return b.svc.Cancel(call.Context(), payment.CancelRequest{ID: call.TID, CPID: str(req["cpId"]), OTID: str(req["oTid"]),
		Amount: amount, Reason: str(req["reason"]), IdempotencyKey: str(req["idempotencyKey"])})
}

// Lookup is merchant cpID's view of payment tid, or null.
func (b *Bill) Lookup(call *components.Call, cpID, tid string) (any, error) {
	v, err := b.svc.Lookup(call.Context(), cpID, tid)
	if errors.Is(err, payment.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// wholeKRW reads an amount given as a number or a numeric string.
func wholeKRW(v any) (int64, error) {
	switch x := v.(type) {
	case float64:
		if x >= 1 && x <= 1e12 && x == math.Trunc(x) {
			return int64(x), nil
		}
	case string:
		var n int64
		if _, err := fmt.Sscan(x, &n); err == nil && n >= 1 && fmt.Sprint(n) == x {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%v is not a whole number of KRW of at least 1", v)
}

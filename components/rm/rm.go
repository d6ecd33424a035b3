// Package rm is the RM component: the risk manager's monthly limits, per
// phone number and calendar month in Asia/Seoul. Holding, committing and
// releasing the limit is BILL's work, inside the ledger's transactions;
// RM lets a script read it.
//
//	RM.remaining("01012345678") // KRW left this month
//	RM.monthlyLimit()           // the limit per month
package rm

import (
	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/payment"
)

func init() {
	components.Register("RM", func(env components.Env) (any, error) {
		svc, err := payment.From(env)
		return &RM{svc: svc}, err
	})
}

// RM reads monthly limits.
type RM struct{ svc *payment.Service }

// Remaining is the limit a phone number has left this month.
func (r *RM) Remaining(call *components.Call, phone string) (int64, error) {
	return r.svc.Remaining(call.Context(), phone)
}

// MonthlyLimit is the limit per phone number and month.
func (r *RM) MonthlyLimit() int64 { return r.svc.MonthlyLimit() }

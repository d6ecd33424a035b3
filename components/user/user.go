// Package user is the USER component: the checks a user must pass before
// an OTP is sent, as the original scripts wrote them.
//
//	var risk = USER.checkRisk(user);       // the risk manager: block list, monthly limit
//	var id = USER.checkCarrier(user);      // the carrier: name, birth, gender match the phone
//
// user is {name, phone_number, carrier, birth, gender}. Each answers
// {ok, code, message}; a pass is recorded on the transaction, and OTP.send
// refuses a user who has not passed both.
package user

import (
	"fmt"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/payment"
)

func init() {
	components.Register("USER", func(env components.Env) (any, error) {
		svc, err := payment.From(env)
		return &User{svc: svc}, err
	})
}

// User checks users of a transaction.
type User struct{ svc *payment.Service }

// CheckRisk asks the risk manager about the user for this transaction.
func (u *User) CheckRisk(call *components.Call, user map[string]any) (payment.RiskCheck, error) {
	id, err := Identity(user)
	if err != nil {
		return payment.RiskCheck{}, err
	}
	return u.svc.CheckRisk(call.Context(), call.TID, id.Phone)
}

// CheckCarrier asks the carrier whether the user is its subscriber.
func (u *User) CheckCarrier(call *components.Call, user map[string]any) (payment.Outcome, error) {
	id, err := Identity(user)
	if err != nil {
		return payment.Outcome{}, err
	}
	return u.svc.VerifyIdentity(call.Context(), call.TID, id)
}

// Identity reads a script's user object; a missing field is an error.
func Identity(user map[string]any) (payment.Identity, error) {
	var id payment.Identity
	for key, dst := range map[string]*string{"name": &id.Name, "phone_number": &id.Phone, "carrier": &id.Carrier,
		"birth": &id.Birth, "gender": &id.Gender} {
		s, ok := user[key].(string)
		if !ok || s == "" {
			return id, fmt.Errorf("user.%s must be a non-empty string", key)
		}
		*dst = s
	}
	return id, nil
}

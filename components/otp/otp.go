// Package otp is the OTP component: one-time passwords sent by SMS. The OTP
// never reaches a script, a log or a response: it goes from crypto/rand to
// the SMS, and only its keyed hash is kept.
//
//	var sms = OTP.send(user);                  // {ok, code, message, phone (masked), expiresAt}
//	var check = OTP.verify(reqMap.get("OTP")); // {ok, code, message, attemptsLeft}
package otp

import (
	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/user"
)

func init() {
	components.Register("OTP", func(env components.Env) (any, error) {
		svc, err := payment.From(env)
		return &OTP{svc: svc}, err
	})
}

// OTP sends and checks one-time passwords.
type OTP struct{ svc *payment.Service }

// Send sends a new OTP to the user of this transaction, who must have
// passed USER.checkRisk and USER.checkCarrier. Each call sends a new one,
// at most five per transaction.
func (o *OTP) Send(call *components.Call, u map[string]any) (payment.OTPSent, error) {
	id, err := user.Identity(u)
	if err != nil {
		return payment.OTPSent{}, err
	}
	return o.svc.SendOTP(call.Context(), call.TID, id)
}

// Verify checks an answer in constant time. It expires after three
// minutes; the fifth wrong answer fails the transaction.
func (o *OTP) Verify(call *components.Call, answer string) (payment.OTPChecked, error) {
	return o.svc.VerifyOTP(call.Context(), call.TID, answer)
}

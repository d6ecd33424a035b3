package payment

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
)

// OTPSent is the answer to SendOTP.
type OTPSent struct {
	Outcome
	Phone     string `json:"phone"` // masked
	ExpiresAt string `json:"expiresAt"`
}

// SendOTP sends a new 6-digit OTP by SMS to the user of transaction tid,
// whose phone must have passed the risk and identity checks. The user is
// recorded on the transaction: the charge goes to the number the OTP
// proves. The OTP itself is kept only as a keyed hash and never returned.
func (s *Service) SendOTP(ctx context.Context, tid string, id Identity) (OTPSent, error) {
	code := newOTP()
	now := s.now()
	out, err := s.run(ctx, func(tx Tx) error {
		p, err := s.openPayment(tx, tid)
		if err != nil {
			return err
		}
		if p.RiskChecked != id.Phone || p.IdentityChecked != id.Phone {
			return abort(CodeUserNotChecked)
		}
		o, err := tx.OTP(tid)
		if errors.Is(err, ErrNotFound) {
			o, err = &OTP{TID: tid}, nil
		}
		if err != nil {
			return err
		}
		switch {
		case o.Wrong >= s.opts.MaxOTPWrong:
			return abort(CodeOTPLocked)
		case o.Sends >= s.opts.MaxOTPSend:
			return abort(CodeOTPSendLimit)
		}
		o.Phone, o.Hash, o.ExpiresAt, o.Used = id.Phone, s.keyed("otp", tid, code), now.Add(s.opts.OTPTTL), false
		o.Sends++
		p.UserName, p.Phone, p.Carrier, p.Status = id.Name, id.Phone, id.Carrier, StatusUserAuthed
		if err := tx.PutOTP(o); err != nil {
			return err
		}
		return s.put(tx, p)
	})
	if err != nil || !out.OK {
		return OTPSent{Outcome: out}, err
	}
	if err := s.opts.Carrier.SendSMS(ctx, id.Phone, smsText(code)); err != nil {
		if errors.Is(err, ErrSMSNotDelivered) {
			return OTPSent{Outcome: fail(CodeSMSNotDelivered)}, nil
		}
		return OTPSent{}, err
	}
	return OTPSent{Outcome: okOutcome, Phone: MaskPhone(id.Phone), ExpiresAt: iso(now.Add(s.opts.OTPTTL))}, nil
}

func smsText(code string) string {
	return fmt.Sprintf("[TUNA] 인증번호 %s (3분 안에 입력하세요) / verification code %s", code, code)
}

// newOTP draws 6 uniform digits from crypto/rand.
func newOTP() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// OTPChecked is the answer to VerifyOTP.
type OTPChecked struct {
	Outcome
	AttemptsLeft int `json:"attemptsLeft"`
}

// VerifyOTP checks answer against the OTP of transaction tid, in constant
// time. An expired OTP fails with its own code and costs no attempt. The
// MaxOTPWrong-th wrong answer fails the transaction; after that nothing
// changes any more.
func (s *Service) VerifyOTP(ctx context.Context, tid, answer string) (OTPChecked, error) {
	left := 0
	var wrong bool
	out, err := s.run(ctx, func(tx Tx) error {
		p, err := s.openPayment(tx, tid)
		if err != nil {
			return err
		}
		o, err := tx.OTP(tid)
		if errors.Is(err, ErrNotFound) {
			return abort(CodeOTPNotSent)
		} else if err != nil {
			return err
		}
		switch {
		case o.Wrong >= s.opts.MaxOTPWrong:
			return abort(CodeOTPLocked)
		case o.Used:
			return abort(CodeOTPUsed)
		case !s.now().Before(o.ExpiresAt):
			return abort(CodeOTPExpired)
		}
		if !hmac.Equal(o.Hash, s.keyed("otp", tid, answer)) {
			wrong = true
			return s.wrongOTP(tx, p, o, &left)
		}
		o.Used, p.Status = true, StatusVerified
		if err := tx.PutOTP(o); err != nil {
			return err
		}
		return s.put(tx, p)
	})
	if wrong && err == nil {
		code := CodeOTPMismatch
		if left == 0 {
			code = CodeOTPLocked
		}
		return OTPChecked{Outcome: fail(code), AttemptsLeft: left}, nil
	}
	return OTPChecked{Outcome: out, AttemptsLeft: left}, err
}

// wrongOTP counts a wrong answer (it must be saved, so the transaction is
// committed, not aborted), and fails the payment at the last one.
func (s *Service) wrongOTP(tx Tx, p *Payment, o *OTP, left *int) error {
	o.Wrong++
	*left = s.opts.MaxOTPWrong - o.Wrong
	if *left == 0 {
		p.Status, p.FailCode, p.FailMessage = StatusFailed, CodeOTPLocked, messages[CodeOTPLocked]
	}
	if err := tx.PutOTP(o); err != nil {
		return err
	}
	return s.put(tx, p)
}

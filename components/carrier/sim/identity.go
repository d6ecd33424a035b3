package sim

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tunapay/tuna/components/payment"
)

var phonePattern = regexp.MustCompile(`^010[0-9]{8}$`)

var carriers = map[string]bool{
	"SKT": true, "KT": true, "LGU": true, "SKT_MVNO": true, "KT_MVNO": true, "LGU_MVNO": true,
}

// VerifyIdentity answers payment.ErrIdentityMismatch, naming the field,
// unless id is a normal subscriber (see the package documentation).
func (s *Simulator) VerifyIdentity(ctx context.Context, id payment.Identity) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	if err := s.checkOpen(); err != nil {
		return err
	}
	if field := mismatch(id, s.now()); field != "" {
		return fmt.Errorf("%w: %s", payment.ErrIdentityMismatch, field)
	}
	return nil
}

// mismatch names the first field of id that a subscriber cannot have.
func mismatch(id payment.Identity, now time.Time) string {
	switch {
	case id.Phone == PhoneIdentityMismatch:
		return "test number"
	case !phonePattern.MatchString(id.Phone):
		return "phone number"
	case strings.TrimSpace(id.Name) == "" || utf8.RuneCountInString(id.Name) > 20:
		return "name"
	case !validBirth(id.Birth, now):
		return "birth"
	case id.Gender != "M" && id.Gender != "F":
		return "gender"
	case !carriers[id.Carrier]:
		return "carrier"
	}
	return ""
}

// validBirth reports whether b is a real date YYYYMMDD no later than
// today in Asia/Seoul.
func validBirth(b string, now time.Time) bool {
	if len(b) != 8 || strings.Trim(b, "0123456789") != "" {
		return false
	}
	if _, err := time.Parse("20060102", b); err != nil {
		return false
	}
	return b <= now.In(payment.Seoul).Format("20060102")
}

// SendSMS keeps text as the latest SMS to phone, except for
// 01099990003, which answers payment.ErrSMSNotDelivered.
func (s *Simulator) SendSMS(ctx context.Context, phone, text string) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	if phone == PhoneSMSNotDelivered {
		return payment.ErrSMSNotDelivered
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	now := s.now()
	s.sms[phone] = payment.SMS{Phone: phone, Text: text, OTP: firstOTP(text), SentAt: now}
	s.smsLog = append(s.smsLog, smsSent{phone, now})
	// Forget what is older than smsKept or beyond smsMax, unless a newer SMS
	// replaced it. The log is consumed from smsHead and compacted once half
	// of it is spent.
	for s.smsHead < len(s.smsLog) &&
		(now.Sub(s.smsLog[s.smsHead].at) > smsKept || len(s.smsLog)-s.smsHead > smsMax) {
		old := s.smsLog[s.smsHead]
		if m, ok := s.sms[old.phone]; ok && !m.SentAt.After(old.at) {
			delete(s.sms, old.phone)
		}
		s.smsHead++
	}
	if s.smsHead > len(s.smsLog)/2 {
		s.smsLog = append(s.smsLog[:0], s.smsLog[s.smsHead:]...)
		s.smsHead = 0
	}
	return nil
}

// LastSMS returns the latest SMS sent to phone in the last smsKept, or
// payment.ErrNotFound. SMS are kept in memory only.
func (s *Simulator) LastSMS(ctx context.Context, phone string) (payment.SMS, error) {
	if err := ctx.Err(); err != nil {
		return payment.SMS{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return payment.SMS{}, ErrClosed
	}
	m, ok := s.sms[phone]
	if !ok {
		return payment.SMS{}, payment.ErrNotFound
	}
	return m, nil
}

// firstOTP returns the first run of exactly six ASCII digits in text, or "".
func firstOTP(text string) string {
	for i := 0; i < len(text); {
		if !isDigit(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isDigit(text[j]) {
			j++
		}
		if j-i == 6 {
			return text[i:j]
		}
		i = j
	}
	return ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (s *Simulator) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

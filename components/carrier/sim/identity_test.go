package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

func TestSimulator_VerifyIdentity(t *testing.T) {
	ok := payment.Identity{Name: "홍길동", Phone: "01012345678", Carrier: "SKT", Birth: "19900101", Gender: "M"}
	tests := []struct {
		name   string
		change func(*payment.Identity)
		want   error
	}{
		{"normal", func(*payment.Identity) {}, nil},
		{"F", func(id *payment.Identity) { id.Gender = "F" }, nil},
		{"twenty characters", func(id *payment.Identity) { id.Name = strings.Repeat("김", 20) }, nil},
		{"born today in Seoul", func(id *payment.Identity) { id.Birth = "20260314" }, nil},
		{"leap day", func(id *payment.Identity) { id.Birth = "20000229" }, nil},
		{"test number 001", func(id *payment.Identity) { id.Phone = PhoneIdentityMismatch }, payment.ErrIdentityMismatch},
		{"other test numbers are normal", func(id *payment.Identity) { id.Phone = PhoneDeclined }, nil},
		{"phone 011", func(id *payment.Identity) { id.Phone = "01112345678" }, payment.ErrIdentityMismatch},
		{"phone short", func(id *payment.Identity) { id.Phone = "0101234567" }, payment.ErrIdentityMismatch},
		{"phone long", func(id *payment.Identity) { id.Phone = "010123456789" }, payment.ErrIdentityMismatch},
		{"phone dashes", func(id *payment.Identity) { id.Phone = "010-1234-5678" }, payment.ErrIdentityMismatch},
		{"empty name", func(id *payment.Identity) { id.Name = "" }, payment.ErrIdentityMismatch},
		{"blank name", func(id *payment.Identity) { id.Name = "  " }, payment.ErrIdentityMismatch},
		{"21 characters", func(id *payment.Identity) { id.Name = strings.Repeat("김", 21) }, payment.ErrIdentityMismatch},
		{"birth tomorrow", func(id *payment.Identity) { id.Birth = "20260315" }, payment.ErrIdentityMismatch},
		{"birth Feb 30", func(id *payment.Identity) { id.Birth = "19900230" }, payment.ErrIdentityMismatch},
		{"birth Feb 29 not leap", func(id *payment.Identity) { id.Birth = "19900229" }, payment.ErrIdentityMismatch},
		{"birth month 13", func(id *payment.Identity) { id.Birth = "19901301" }, payment.ErrIdentityMismatch},
		{"birth short", func(id *payment.Identity) { id.Birth = "900101" }, payment.ErrIdentityMismatch},
		{"birth dashes", func(id *payment.Identity) { id.Birth = "1990-01-01" }, payment.ErrIdentityMismatch},
		{"birth sign", func(id *payment.Identity) { id.Birth = "+9900101" }, payment.ErrIdentityMismatch},
		{"gender lower", func(id *payment.Identity) { id.Gender = "m" }, payment.ErrIdentityMismatch},
		{"gender empty", func(id *payment.Identity) { id.Gender = "" }, payment.ErrIdentityMismatch},
		{"carrier unknown", func(id *payment.Identity) { id.Carrier = "SKB" }, payment.ErrIdentityMismatch},
		{"carrier lower", func(id *payment.Identity) { id.Carrier = "skt" }, payment.ErrIdentityMismatch},
	}
	s, _ := newSim(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := ok
			tt.change(&id)
			err := s.VerifyIdentity(context.Background(), id)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifyIdentity(%+v) = %v, want %v", id, err, tt.want)
			}
		})
	}
	for _, c := range []string{"SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"} {
		id := ok
		id.Carrier = c
		if err := s.VerifyIdentity(context.Background(), id); err != nil {
			t.Errorf("carrier %s: %v", c, err)
		}
	}
}

// The birth date is checked against today in Asia/Seoul, not UTC.
func TestSimulator_VerifyIdentity_SeoulDate(t *testing.T) {
	s, c := newSim(t, nil)
	c.Advance(6 * time.Hour) // 2026-03-14 16:00 UTC is 2026-03-15 01:00 KST
	id := payment.Identity{Name: "A", Phone: "01012345678", Carrier: "KT", Birth: "20260315", Gender: "F"}
	if err := s.VerifyIdentity(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	id.Birth = "20260316"
	if err := s.VerifyIdentity(context.Background(), id); !errors.Is(err, payment.ErrIdentityMismatch) {
		t.Fatalf("birth in the future: %v", err)
	}
}

func TestSimulator_SendSMS(t *testing.T) {
	s, c := newSim(t, nil)
	ctx := context.Background()
	if err := s.SendSMS(ctx, PhoneSMSNotDelivered, "인증번호 123456"); !errors.Is(err, payment.ErrSMSNotDelivered) {
		t.Fatalf("003: %v", err)
	}
	if _, err := s.LastSMS(ctx, PhoneSMSNotDelivered); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("an undelivered SMS was kept: %v", err)
	}
	if _, err := s.LastSMS(ctx, "01012345678"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("LastSMS of a phone never sent to: %v", err)
	}
	if err := s.SendSMS(ctx, "01012345678", "[TUNA] 인증번호 111111"); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Minute)
	if err := s.SendSMS(ctx, "01012345678", "[TUNA] 인증번호 [222222] 3분 안에 입력"); err != nil {
		t.Fatal(err)
	}
	got, err := s.LastSMS(ctx, "01012345678")
	want := payment.SMS{Phone: "01012345678", Text: "[TUNA] 인증번호 [222222] 3분 안에 입력", OTP: "222222", SentAt: c.Now()}
	if err != nil || got != want {
		t.Fatalf("LastSMS = %+v, %v; want %+v", got, err, want)
	}
}

func TestFirstOTP(t *testing.T) {
	tests := []struct{ text, want string }{
		{"123456", "123456"},
		{"인증번호 [654321]", "654321"},
		{"1234567 then 222222", "222222"},
		{"12345 then 333333 and 444444", "333333"},
		{"call 01012345678: 555555", "555555"},
		{"a123456b", "123456"},
		{"12345", ""},
		{"", ""},
		{"１２３４５６", ""}, // full-width digits are not an OTP
	}
	for _, tt := range tests {
		if got := firstOTP(tt.text); got != tt.want {
			t.Errorf("firstOTP(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func FuzzFirstOTP(f *testing.F) {
	f.Add("인증번호 123456")
	f.Add("1234567 222222")
	f.Fuzz(func(t *testing.T, text string) {
		otp := firstOTP(text)
		if otp == "" {
			return
		}
		i := strings.Index(text, otp)
		if len(otp) != 6 || strings.Trim(otp, "0123456789") != "" || i < 0 {
			t.Fatalf("firstOTP(%q) = %q", text, otp)
		}
	})
}

// The inbox forgets an SMS after smsKept, unless a newer one replaced it,
// and keeps at most smsMax, so a sandbox that sees a new phone per payment
// does not grow.
func TestSimulator_SMS_Forgotten(t *testing.T) {
	s, c := newSim(t, nil)
	ctx := context.Background()
	if err := s.SendSMS(ctx, "01011110000", "old 111111"); err != nil {
		t.Fatal(err)
	}
	c.Advance(smsKept / 2)
	_ = s.SendSMS(ctx, "01022220000", "kept 222222")
	_ = s.SendSMS(ctx, "01011110000", "again 333333")
	c.Advance(smsKept/2 + time.Second)
	_ = s.SendSMS(ctx, "01033330000", "new 444444")
	if m, err := s.LastSMS(ctx, "01011110000"); err != nil || m.OTP != "333333" {
		t.Fatalf("replaced SMS: %+v %v, want the newer one kept", m, err)
	}
	c.Advance(smsKept + time.Second)
	_ = s.SendSMS(ctx, "01044440000", "latest 555555")
	for _, phone := range []string{"01011110000", "01022220000", "01033330000"} {
		if _, err := s.LastSMS(ctx, phone); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("%s: %v, want forgotten", phone, err)
		}
	}
	if len(s.sms) != 1 || len(s.smsLog)-s.smsHead != 1 {
		t.Fatalf("%d SMS and %d log entries kept, want 1", len(s.sms), len(s.smsLog)-s.smsHead)
	}
}

func TestSimulator_SMS_AtMostMax(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	for i := range smsMax + 10 {
		if err := s.SendSMS(ctx, fmt.Sprintf("010%08d", i), "code 123456"); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.sms) != smsMax {
		t.Fatalf("%d SMS kept, want %d", len(s.sms), smsMax)
	}
	if _, err := s.LastSMS(ctx, "01000000009"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("the oldest: %v, want forgotten", err)
	}
	if _, err := s.LastSMS(ctx, fmt.Sprintf("010%08d", smsMax+9)); err != nil {
		t.Fatalf("the newest: %v", err)
	}
}

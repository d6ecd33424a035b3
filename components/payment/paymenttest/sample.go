package paymenttest

import (
	"time"

	"github.com/tunapay/tuna/components/payment"
)

// Epoch is the time the suite's samples are made at: nanoseconds set, so a
// store that truncates times fails.
var Epoch = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)

// SamplePayment returns a paid payment made at now with every field a
// charged payment has set: its user and checks, a done cancel, a failed
// cancel and a done refund the next month. FailCode, FailMessage and
// NetCancelled, which only failed or net-cancelled payments have, are zero.
// Times are in several zones, as they come from different places.
func SamplePayment(tid string, now time.Time) *payment.Payment {
	paid := now.Add(30 * time.Second)
	return &payment.Payment{
		TID: tid, CPID: "CP0001", OrderID: "order-" + tid,
		ProductID: "P-100", ProductName: "튜나 <프리미엄> & \"월간\"",
		Amount: 15000, ReturnURL: "https://shop.example/return?tid=" + tid,
		Status:    payment.StatusPartialRefunded,
		CreatedAt: now.In(payment.Seoul), UpdatedAt: now.AddDate(0, 1, 5),
		ExpiresAt: now.Add(10 * time.Minute),
		UserName:  "홍길동", Phone: "01012345678", Carrier: "SKT",
		RiskChecked: "01012345678", IdentityChecked: "01012345678",
		ChargeStartedAt: now.Add(29 * time.Second), PaidAt: paid,
		BillMonth: payment.Month(paid),
		Cancelled: 1000, Refunded: 2000,
		Cancels: sampleCancels(tid, paid),
	}
}

func sampleCancels(tid string, paid time.Time) []payment.Cancel {
	refund := paid.AddDate(0, 1, 5)
	return []payment.Cancel{
		{
			ID: tid + "-c1", Type: payment.TypeCancel, Amount: 1000, Reason: "고객 요청",
			IdempotencyKey: "idem-1", Status: payment.CancelDone,
			RequestedAt: paid.Add(time.Hour), DoneAt: paid.Add(time.Hour + time.Second),
		},
		{
			ID: tid + "-c2", Type: payment.TypeCancel, Amount: 500,
			Status: payment.CancelFailed, FailCode: "C301", RequestedAt: paid.Add(2 * time.Hour),
		},
		{
			ID: tid + "-r1", Type: payment.TypeRefund, Amount: 2000, Reason: "partial refund",
			IdempotencyKey: "idem-3", Status: payment.CancelDone,
			RequestedAt: refund.In(payment.Seoul), DoneAt: refund.Add(3 * time.Second),
		},
	}
}

// SampleMerchant returns a merchant registered at now.
func SampleMerchant(id string, now time.Time) *payment.Merchant {
	return &payment.Merchant{
		ID: id, Name: "튜나 상점 " + id,
		SecretHash:    []byte("0123456789abcdef0123456789abcdef\x00\xff"),
		CreatedAt:     now.In(payment.Seoul),
		WebhookURL:    "https://shop.example/hooks/tuna?shop=" + id,
		WebhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	}
}

// SampleEvent returns a PENDING event of merchant CP0001 written at now,
// tried twice, due five minutes later. Its body holds what JSON escapes.
func SampleEvent(id string, now time.Time) *payment.Event {
	return &payment.Event{
		ID: id, CPID: "CP0001", TID: "tid-" + id, Type: payment.WebhookPaid,
		Body: []byte(`{"type":"payment.paid","timestamp":"2026-03-01T18:00:00.123456789+09:00",` +
			`"data":{"tid":"tid-` + id + `","product":{"name":"튜나 <프리미엄> & \"월간\"\u0000"}}}`),
		CreatedAt: now.In(payment.Seoul), Attempts: 2, NextAt: now.Add(5 * time.Minute),
		Status: payment.EventPending, LastError: "HTTP 503",
	}
}

// SampleOTP returns the OTP of tid, sent twice and answered wrong once,
// expiring three minutes after now.
func SampleOTP(tid string, now time.Time) *payment.OTP {
	return &payment.OTP{
		TID: tid, Phone: "01012345678",
		Hash:      []byte("fedcba9876543210fedcba9876543210\x00\x01"),
		ExpiresAt: now.Add(3 * time.Minute), Sends: 2, Wrong: 1,
	}
}

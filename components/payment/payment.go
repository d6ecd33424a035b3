// Package payment is the money core of the mobile-payment application:
// merchants, the ledger of payments and their cancels, monthly limits per
// phone number, and OTPs, with the rules that keep money safe. Its Service
// is written once over Store, an atomic transaction interface that bbolt
// (embedded) and PostgreSQL (several instances) implement alike, and over
// Carrier, the carrier's API. The script components (CP, USER, CARRIER, RM,
// BILL, OTP) are thin façades over the Service. It also keeps the merchants'
// webhook outbox: an event written with each status change, and sent, signed,
// until the merchant acknowledges it.
package payment

import (
	"context"
	"errors"
	"time"
)

// Status is a payment's state as a merchant sees it.
type Status string

// The statuses of a payment.
const (
	StatusReady            Status = "READY"       // merchant and product registered
	StatusUserAuthed       Status = "USER_AUTHED" // user checked, OTP sent
	StatusVerified         Status = "VERIFIED"    // OTP verified
	StatusUnknown          Status = "UNKNOWN"     // charge sent, outcome not known yet
	StatusPaid             Status = "PAID"
	StatusPartialCancelled Status = "PARTIAL_CANCELLED"
	StatusCancelled        Status = "CANCELLED"
	StatusPartialRefunded  Status = "PARTIAL_REFUNDED"
	StatusRefunded         Status = "REFUNDED"
	StatusFailed           Status = "FAILED"
	StatusExpired          Status = "EXPIRED" // derived on read: a payment left before charging past its expiry
)

// Charged reports whether the carrier holds money for s (some may be
// cancelled or refunded).
func (s Status) Charged() bool {
	switch s {
	case StatusPaid, StatusPartialCancelled, StatusCancelled, StatusPartialRefunded, StatusRefunded:
		return true
	}
	return false
}

// Payment is one transaction in the ledger, keyed by its TID.
type Payment struct {
	TID         string    `json:"tid"`
	CPID        string    `json:"cp_id"`
	OrderID     string    `json:"order_id,omitempty"`
	ProductID   string    `json:"product_id"`
	ProductName string    `json:"product_name"`
	Amount      int64     `json:"amount"` // whole KRW
	ReturnURL   string    `json:"return_url,omitempty"`
	Status      Status    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	ExpiresAt   time.Time `json:"expires_at"` // for READY … VERIFIED

	// The user, set when the OTP is sent. Phone is the full number: the
	// ledger is the system of record and the carrier needs it. It is never
	// logged or shown unmasked.
	UserName string `json:"user_name,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Carrier  string `json:"carrier,omitempty"`
	// Checks passed for a phone number in this transaction, which OTP.send
	// requires: they cannot be skipped by a script.
	RiskChecked     string `json:"risk_checked,omitempty"`
	IdentityChecked string `json:"identity_checked,omitempty"`

	ChargeStartedAt time.Time `json:"charge_started_at,omitzero"`
	PaidAt          time.Time `json:"paid_at,omitzero"`
	BillMonth       string    `json:"bill_month,omitempty"` // YYYY-MM in Asia/Seoul of the charge: its limit's month
	Cancelled       int64     `json:"cancelled"`
	Refunded        int64     `json:"refunded"`
	Cancels         []Cancel  `json:"cancels,omitempty"`
	FailCode        string    `json:"fail_code,omitempty"`
	FailMessage     string    `json:"fail_message,omitempty"`
	NetCancelled    bool      `json:"net_cancelled,omitempty"` // charged, never told to the merchant, cancelled (망취소)
	// NetCancelling is recovery's claim on an UNKNOWN charge it is about to
	// net-cancel: from then on no step may settle it PAID, whichever server
	// the step runs on.
	NetCancelling bool `json:"net_cancelling,omitempty"`
}

// Remaining is what may still be cancelled or refunded.
func (p *Payment) Remaining() int64 { return p.Amount - p.Cancelled - p.Refunded - p.pendingCancels() }

func (p *Payment) pendingCancels() int64 {
	var n int64
	for _, c := range p.Cancels {
		if c.Status == CancelPending {
			n += c.Amount
		}
	}
	return n
}

// Unresolved reports whether recovery has work on p: a charge or a cancel
// whose outcome is not known.
func (p *Payment) Unresolved() bool {
	if p.Status == StatusUnknown {
		return true
	}
	for _, c := range p.Cancels {
		if c.Status == CancelPending {
			return true
		}
	}
	return false
}

// CancelType says whether a cancel is a carrier cancel (same billing month
// in Asia/Seoul) or a refund (a later month).
type CancelType string

// The kinds of cancel.
const (
	TypeCancel CancelType = "CANCEL"
	TypeRefund CancelType = "REFUND"
)

// CancelStatus is the state of one cancel of a payment.
type CancelStatus string

// The states of a cancel.
const (
	CancelPending CancelStatus = "PENDING" // sent to the carrier, outcome not known yet
	CancelDone    CancelStatus = "DONE"
	CancelFailed  CancelStatus = "FAILED"
)

// Cancel is one cancel or refund of a payment.
type Cancel struct {
	ID             string       `json:"id"` // the cancel's own TID: the carrier's idempotency key
	Type           CancelType   `json:"type"`
	Amount         int64        `json:"amount"`
	Reason         string       `json:"reason,omitempty"`
	IdempotencyKey string       `json:"idempotency_key,omitempty"`
	Status         CancelStatus `json:"status"`
	FailCode       string       `json:"fail_code,omitempty"`
	RequestedAt    time.Time    `json:"requested_at"`
	DoneAt         time.Time    `json:"done_at,omitzero"`
}

// Limit is the monthly limit use of one phone number in one month.
type Limit struct {
	Phone string `json:"phone"`
	Month string `json:"month"` // YYYY-MM, Asia/Seoul
	Used  int64  `json:"used"`  // live charges: paid, less what was cancelled or refunded
	Held  int64  `json:"held"`  // charges in flight
}

// Merchant is a CP. Its secret is stored only as a keyed hash. Its webhook
// signing secret is stored as it is: TUNA signs with it.
type Merchant struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	SecretHash    []byte    `json:"secret_hash"` // HMAC-SHA256 with the server key
	CreatedAt     time.Time `json:"created_at"`
	WebhookURL    string    `json:"webhook_url,omitempty"`    // "" sends no events
	WebhookSecret string    `json:"webhook_secret,omitempty"` // whsec_ and base64 of 32 random bytes
}

// EventStatus is the delivery state of a webhook event.
type EventStatus string

// The delivery states of an event.
const (
	EventPending   EventStatus = "PENDING"   // to be sent at NextAt
	EventDelivered EventStatus = "DELIVERED" // the merchant answered 2xx
	EventFailed    EventStatus = "FAILED"    // every attempt of the schedule failed
)

// Event is one webhook event in the outbox: written in the transaction that
// changed the payment's status, then sent until the merchant acknowledges
// it. Body is the exact JSON sent, every attempt alike.
type Event struct {
	ID          string      `json:"id"` // msg_…: the webhook-id header
	CPID        string      `json:"cp_id"`
	TID         string      `json:"tid"`
	Type        string      `json:"type"` // payment.paid, payment.failed…
	Body        []byte      `json:"body"`
	CreatedAt   time.Time   `json:"created_at"`
	Attempts    int         `json:"attempts"` // since it was written or last resent
	NextAt      time.Time   `json:"next_at"`  // when a PENDING event is due
	Status      EventStatus `json:"status"`
	LastError   string      `json:"last_error,omitempty"`
	DeliveredAt time.Time   `json:"delivered_at,omitzero"`
}

// EventFilter selects events for Store.Events; a zero field selects all.
type EventFilter struct {
	Status EventStatus
	CPID   string
	TID    string
	Limit  int // the newest Limit events; 0: every one
}

// OTP is the one-time password of a transaction: only its keyed hash.
type OTP struct {
	TID       string    `json:"tid"`
	Phone     string    `json:"phone"`
	Hash      []byte    `json:"hash"` // HMAC-SHA256 with the server key
	ExpiresAt time.Time `json:"expires_at"`
	Sends     int       `json:"sends"` // OTPs sent for this TID
	Wrong     int       `json:"wrong"` // wrong answers for this TID, all OTPs together
	Used      bool      `json:"used"`
}

// Store and merchant errors. Test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrWebhookURL: a webhook URL that is not an absolute http or https
	// URL, the only ones TUNA sends to.
	ErrWebhookURL = errors.New("webhook URL must be an absolute http:// or https:// URL")
)

// Tx is one atomic transaction over the payment store. What it returns is
// the caller's copy; Put* write it back. Every read in an Update locks what
// it read until the transaction ends — a row that does not exist yet too (a
// limit's first use in a month), so that a check and the write that follows
// it cannot interleave with another transaction's. A View sees one snapshot.
type Tx interface {
	Payment(tid string) (*Payment, error) // ErrNotFound
	// PaymentByOrder finds the payment of a merchant's order id created
	// last. In an Update it locks the (cpID, orderID) pair, so checking that
	// an order id is free and then using it is safe.
	PaymentByOrder(cpID, orderID string) (*Payment, error) // ErrNotFound
	PutPayment(p *Payment) error
	// Limit returns the use of phone in month; a zero Limit if none.
	Limit(phone, month string) (*Limit, error)
	PutLimit(l *Limit) error
	Merchant(id string) (*Merchant, error) // ErrNotFound
	PutMerchant(m *Merchant) error
	OTP(tid string) (*OTP, error) // ErrNotFound
	PutOTP(o *OTP) error
	// Event reads a webhook event; in an Update it locks it, so that one
	// sender at a time claims an attempt.
	Event(id string) (*Event, error) // ErrNotFound
	PutEvent(e *Event) error
}

// Store holds merchants, the ledger, limits, OTPs and the webhook outbox.
type Store interface {
	// Update runs fn in one read-write transaction: all of its writes land,
	// or none. fn may run more than once (a serialization retry), so it must
	// have no effect outside tx. An error from fn aborts and is returned.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Unresolved lists the TIDs of payments for which Unresolved is true.
	Unresolved(ctx context.Context) ([]string, error)
	// Merchants lists every merchant, by id.
	Merchants(ctx context.Context) ([]Merchant, error)
	// Payments and Limits list everything, for reconciliation and tests.
	Payments(ctx context.Context) ([]Payment, error)
	Limits(ctx context.Context) ([]Limit, error)
	// DueEvents lists at most limit (≤ 0: every one) PENDING events whose
	// NextAt is not after now, the earliest NextAt first (ties by ID).
	DueEvents(ctx context.Context, now time.Time, limit int) ([]Event, error)
	// Events lists the events filter selects, the newest first (by
	// CreatedAt, then ID), for operators.
	Events(ctx context.Context, filter EventFilter) ([]Event, error)
	// Lease gives holder the named lease for ttl if it is free, expired or
	// already holder's (which renews it); it reports whether holder has it.
	// Several servers use it to run one recovery pass at a time.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	Close() error
}

// Identity is what the carrier checks against its subscriber.
type Identity struct {
	Name    string `json:"name"`
	Phone   string `json:"phone_number"`
	Carrier string `json:"carrier"`
	Birth   string `json:"birth"`  // YYYYMMDD
	Gender  string `json:"gender"` // M or F
}

// ChargeState is what the carrier knows of a TID.
type ChargeState struct {
	Charged   bool  `json:"charged"`
	Amount    int64 `json:"amount"`
	Cancelled int64 `json:"cancelled"`
	Refunded  int64 `json:"refunded"`
}

// Carrier errors. ErrCarrierUnknown means the request may or may not have
// taken effect (a timeout, a lost connection): the caller must ask, never
// guess.
var (
	ErrIdentityMismatch = errors.New("carrier: identity does not match the subscriber")
	ErrSMSNotDelivered  = errors.New("carrier: SMS not delivered")
	ErrDeclined         = errors.New("carrier: charge declined")
	ErrRefused          = errors.New("carrier: cancel or refund refused")
	ErrCarrierUnknown   = errors.New("carrier: outcome unknown")
)

// Carrier is the carrier's API. Charge is idempotent per TID, and Cancel
// and Refund per cancel ID: a repeat answers like the first.
type Carrier interface {
	VerifyIdentity(ctx context.Context, id Identity) error
	SendSMS(ctx context.Context, phone, text string) error
	Charge(ctx context.Context, tid, phone string, amount int64) error
	// Inquire says whether tid was charged; ErrCarrierUnknown if the
	// carrier cannot say now. A TID never charged is Charged false.
	Inquire(ctx context.Context, tid string) (ChargeState, error)
	Cancel(ctx context.Context, tid, cancelID string, amount int64) error
	Refund(ctx context.Context, tid, cancelID string, amount int64) error
	// InquireCancel says whether a cancel or refund took effect.
	InquireCancel(ctx context.Context, tid, cancelID string) (bool, error)
}

// SMS is a message the sandbox carrier "sent", for GET /sandbox/sms.
type SMS struct {
	Phone  string    `json:"phone_number"`
	Text   string    `json:"text"`
	OTP    string    `json:"otp"`
	SentAt time.Time `json:"sent_at"`
}

// SMSOutbox is implemented by sandbox carriers: the latest SMS to a phone.
type SMSOutbox interface {
	LastSMS(ctx context.Context, phone string) (SMS, error) // ErrNotFound
}

// Seoul is Asia/Seoul: UTC+9 with no daylight saving since 1988, so a fixed
// zone is exact for every date a payment can have, and needs no tzdata.
var Seoul = time.FixedZone("KST", 9*60*60)

// Month is t's billing month, YYYY-MM in Asia/Seoul.
func Month(t time.Time) string { return t.In(Seoul).Format("2006-01") }

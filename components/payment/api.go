package payment

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"

	"time"
)

// View is a payment as its merchant may see it: the phone masked, no
// secrets, no OTP.
type View struct {
	TID             string       `json:"tid"`
	OrderID         string       `json:"order_id"`
	Status          Status       `json:"status"`
	Amount          int64        `json:"amount"`
	CancelledAmount int64        `json:"cancelled_amount"` // cancelled and refunded together
	RefundedAmount  int64        `json:"refunded_amount"`
	RemainingAmount int64        `json:"remaining_amount"`
	Product         ProductView  `json:"product"`
	Carrier         string       `json:"carrier,omitempty"`
	Phone           string       `json:"phone,omitempty"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
	ExpiresAt       *time.Time   `json:"expires_at,omitempty"`
	PaidAt          *time.Time   `json:"paid_at,omitempty"`
	FailCode        string       `json:"fail_code,omitempty"`
	Cancels         []CancelView `json:"cancels"`
}

// ProductView is the product of a payment.
type ProductView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// CancelView is one cancel or refund of a payment.
type CancelView struct {
	ID          string       `json:"id"`
	Type        CancelType   `json:"type"`
	Amount      int64        `json:"amount"`
	Status      CancelStatus `json:"status"`
	Reason      string       `json:"reason,omitempty"`
	FailCode    string       `json:"fail_code,omitempty"`
	RequestedAt time.Time    `json:"requested_at"`
	DoneAt      *time.Time   `json:"done_at,omitempty"`
}

// ViewOf returns the merchant's view of p at now.
func ViewOf(p *Payment, now time.Time) View {
	v := View{TID: p.TID, OrderID: p.OrderID, Status: p.ViewStatus(now), Amount: p.Amount,
		CancelledAmount: p.Cancelled + p.Refunded, RefundedAmount: p.Refunded, Product: ProductView{p.ProductID, p.ProductName},
		Carrier: p.Carrier, CreatedAt: p.CreatedAt.In(Seoul), UpdatedAt: p.UpdatedAt.In(Seoul),
		PaidAt: timePtr(p.PaidAt), FailCode: p.FailCode, Cancels: []CancelView{}}
	if p.Status.Charged() {
		v.RemainingAmount = p.Remaining()
	} else if p.Status != StatusUnknown && p.Status != StatusFailed {
		v.ExpiresAt = timePtr(p.ExpiresAt)
	}
	if p.Phone != "" {
		v.Phone = MaskPhone(p.Phone)
	}
	for _, c := range p.Cancels {
		v.Cancels = append(v.Cancels, CancelView{ID: c.ID, Type: c.Type, Amount: c.Amount, Status: c.Status,
			Reason: c.Reason, FailCode: c.FailCode, RequestedAt: c.RequestedAt.In(Seoul), DoneAt: timePtr(c.DoneAt)})
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.In(Seoul)
	return &t
}

// Lookup returns merchant cpID's payment tid (another merchant's is not found).
func (s *Service) Lookup(ctx context.Context, cpID, tid string) (*View, error) {
	return s.view(ctx, cpID, func(tx Tx) (*Payment, error) { return tx.Payment(tid) })
}

// LookupOrder returns merchant cpID's latest payment for orderID.
func (s *Service) LookupOrder(ctx context.Context, cpID, orderID string) (*View, error) {
	return s.view(ctx, cpID, func(tx Tx) (*Payment, error) { return tx.PaymentByOrder(cpID, orderID) })
}

func (s *Service) view(ctx context.Context, cpID string, get func(Tx) (*Payment, error)) (*View, error) {
	var p *Payment
	err := s.opts.Store.View(ctx, func(tx Tx) error {
		var err error
		p, err = get(tx)
		return err
	})
	if err == nil && p.CPID != cpID {
		err = ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	v := ViewOf(p, s.now())
	return &v, nil
}

// Handler serves the merchant lookup API, and with sandbox true the
// sandbox's SMS inbox:
//
//	GET /v1/payments/{tid}            (HTTP Basic auth CP_ID:CP_PWD)
//	GET /v1/payments?order_id=…       (HTTP Basic auth CP_ID:CP_PWD)
//	GET /sandbox/sms/{phone_number}   (sandbox only)
//
// Errors use the engine's envelope and catalogue codes.
func (s *Service) Handler(sandbox bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/payments/{tid}", s.merchantOnly(func(w http.ResponseWriter, r *http.Request, cp string) {
		s.writeView(w, r.PathValue("tid"))(s.Lookup(r.Context(), cp, r.PathValue("tid")))
	}))
	mux.HandleFunc("GET /v1/payments", s.merchantOnly(func(w http.ResponseWriter, r *http.Request, cp string) {
		order := r.URL.Query().Get("order_id")
		if order == "" {
			writeError(w, http.StatusBadRequest, "BAD_REQUEST", "order_id is required", "")
			return
		}
		s.writeView(w, "")(s.LookupOrder(r.Context(), cp, order))
	}))
	if sandbox {
		mux.HandleFunc("GET /sandbox/sms/{phone}", s.sandboxSMS)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint", "")
	})
	return mux
}

func (s *Service) merchantOnly(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="tuna"`)
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "HTTP Basic auth with CP_ID:CP_PWD is required", "")
			return
		}
		if _, ok := s.Authenticate(r.Context(), id, secret); !ok {
			writeError(w, http.StatusUnauthorized, "UNAUTHORIZED", "merchant id or password is wrong", "")
			return
		}
		h(w, r, id)
	}
}

func (s *Service) writeView(w http.ResponseWriter, tid string) func(*View, error) {
	return func(v *View, err error) {
		switch {
		case errors.Is(err, ErrNotFound):
			writeError(w, http.StatusNotFound, "TID_NOT_FOUND", "no such payment for this merchant", tid)
		case err != nil:
			s.log.Error("payment lookup failed")
			writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error", tid)
		default:
			writeJSON(w, http.StatusOK, v)
		}
	}
}

var phoneRE = regexp.MustCompile(`^01[016789][0-9]{7,8}$`)

func (s *Service) sandboxSMS(w http.ResponseWriter, r *http.Request) {
	phone := r.PathValue("phone")
	outbox, ok := s.opts.Carrier.(SMSOutbox)
	if !ok || !phoneRE.MatchString(phone) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no SMS for this number", "")
		return
	}
	sms, err := outbox.LastSMS(r.Context(), phone)
	if err != nil {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no SMS for this number", "")
		return
	}
	writeJSON(w, http.StatusOK, sms)
}

func writeError(w http.ResponseWriter, status int, code, msg, tid string) {
	writeJSON(w, status, map[string]any{"result": "FAIL", "code": code, "message": msg, "tid": tid, "data": map[string]any{}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

package sim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
)

// maxBody bounds a request body.
const maxBody = 1 << 20

// Handler serves the simulator's HTTP API (see the package documentation).
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/identity", s.serveIdentity)
	mux.HandleFunc("POST /v1/sms", s.serveSendSMS)
	mux.HandleFunc("GET /v1/sms/{phone}", s.serveLastSMS)
	mux.HandleFunc("POST /v1/charges", s.serveCharge)
	mux.HandleFunc("GET /v1/charges/{tid}", s.serveInquire)
	mux.HandleFunc("POST /v1/charges/{tid}/cancels", s.serveCancel)
	mux.HandleFunc("GET /v1/charges/{tid}/cancels/{id}", s.serveInquireCancel)
	mux.HandleFunc("GET /statement", s.serveStatement)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	return mux
}

type smsRequest struct {
	Phone string `json:"phone_number"`
	Text  string `json:"text"`
}

type chargeRequest struct {
	TID    string `json:"tid"`
	Phone  string `json:"phone_number"`
	Amount int64  `json:"amount"`
}

type cancelRequest struct {
	CancelID string             `json:"cancel_id"`
	Amount   int64              `json:"amount"`
	Type     payment.CancelType `json:"type"`
}

type doneResponse struct {
	Done bool `json:"done"`
}

var empty = struct{}{}

func (s *Simulator) serveIdentity(w http.ResponseWriter, r *http.Request) {
	var id payment.Identity
	if decode(w, r, &id) {
		s.reply(w, r, empty, s.VerifyIdentity(r.Context(), id))
	}
}

func (s *Simulator) serveSendSMS(w http.ResponseWriter, r *http.Request) {
	var req smsRequest
	if decode(w, r, &req) {
		s.reply(w, r, empty, s.SendSMS(r.Context(), req.Phone, req.Text))
	}
}

func (s *Simulator) serveLastSMS(w http.ResponseWriter, r *http.Request) {
	m, err := s.LastSMS(r.Context(), r.PathValue("phone"))
	s.reply(w, r, m, err)
}

func (s *Simulator) serveCharge(w http.ResponseWriter, r *http.Request) {
	var req chargeRequest
	if decode(w, r, &req) {
		s.reply(w, r, empty, s.Charge(r.Context(), req.TID, req.Phone, req.Amount))
	}
}

func (s *Simulator) serveInquire(w http.ResponseWriter, r *http.Request) {
	st, err := s.Inquire(r.Context(), r.PathValue("tid"))
	s.reply(w, r, st, err)
}

func (s *Simulator) serveCancel(w http.ResponseWriter, r *http.Request) {
	var req cancelRequest
	if !decode(w, r, &req) {
		return
	}
	tid := r.PathValue("tid")
	switch req.Type {
	case payment.TypeCancel:
		s.reply(w, r, empty, s.Cancel(r.Context(), tid, req.CancelID, req.Amount))
	case payment.TypeRefund:
		s.reply(w, r, empty, s.Refund(r.Context(), tid, req.CancelID, req.Amount))
	default:
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", `type must be "CANCEL" or "REFUND"`)
	}
}

func (s *Simulator) serveInquireCancel(w http.ResponseWriter, r *http.Request) {
	done, err := s.InquireCancel(r.Context(), r.PathValue("tid"), r.PathValue("id"))
	s.reply(w, r, doneResponse{Done: done}, err)
}

func (s *Simulator) serveStatement(w http.ResponseWriter, r *http.Request) {
	st, err := s.Statement(r.Context())
	s.reply(w, r, st, err)
}

// decode reads the JSON body into v, or answers 400.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", "malformed JSON body: "+err.Error())
		return false
	}
	return true
}

// reply answers v, or err mapped to its status.
func (s *Simulator) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err == nil {
		writeJSON(w, http.StatusOK, v)
		return
	}
	status, code := errorStatus(err, r.Method == http.MethodGet)
	if status == http.StatusInternalServerError {
		s.log.Error("carrier simulator failed", zap.String("path", r.Pattern), zap.Error(err))
	}
	writeError(w, status, code, err.Error())
}

// errorStatus is the one mapping from errors to HTTP answers. An unknown
// outcome is 504 on a request that may have taken effect, 503 on an
// inquiry.
func errorStatus(err error, inquiry bool) (int, string) {
	switch {
	case errors.Is(err, payment.ErrIdentityMismatch):
		return http.StatusUnprocessableEntity, "IDENTITY_MISMATCH"
	case errors.Is(err, payment.ErrSMSNotDelivered):
		return http.StatusUnprocessableEntity, "SMS_NOT_DELIVERED"
	case errors.Is(err, payment.ErrDeclined):
		return http.StatusUnprocessableEntity, "DECLINED"
	case errors.Is(err, payment.ErrRefused):
		return http.StatusUnprocessableEntity, "REFUSED"
	case errors.Is(err, payment.ErrCarrierUnknown) && inquiry:
		return http.StatusServiceUnavailable, "INQUIRY_UNAVAILABLE"
	case errors.Is(err, payment.ErrCarrierUnknown):
		return http.StatusGatewayTimeout, "OUTCOME_UNKNOWN"
	case errors.Is(err, payment.ErrNotFound):
		return http.StatusNotFound, "NOT_FOUND"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "CONFLICT"
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, "BAD_REQUEST"
	case errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable, "CLOSED"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "TIMEOUT"
	}
	return http.StatusInternalServerError, "INTERNAL"
}

type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, errorBody{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// ResendWebhook makes event id due now with a fresh schedule of attempts,
// whatever its state: a FAILED event is tried again, a DELIVERED one sent
// again (with the same webhook-id, so the merchant can tell).
func (s *Service) ResendWebhook(ctx context.Context, id string) error {
	_, err := s.resend(ctx, id)
	return err
}

func (s *Service) resend(ctx context.Context, id string) (*Event, error) {
	var e *Event
	err := s.update(ctx, func(tx Tx) error {
		var err error
		if e, err = tx.Event(id); err != nil {
			return fmt.Errorf("webhook event %q: %w", id, err)
		}
		e.Status, e.NextAt, e.Attempts, e.DeliveredAt = EventPending, s.now(), 0, time.Time{}
		return tx.PutEvent(e)
	})
	return e, err
}

// eventView is an event as operators see it: neither its body nor any
// secret.
type eventView struct {
	ID          string      `json:"id"`
	CPID        string      `json:"cp_id"`
	TID         string      `json:"tid"`
	Type        string      `json:"type"`
	Status      EventStatus `json:"status"`
	Attempts    int         `json:"attempts"`
	CreatedAt   time.Time   `json:"created_at"`
	NextAt      *time.Time  `json:"next_at,omitempty"` // PENDING only
	DeliveredAt *time.Time  `json:"delivered_at,omitempty"`
	LastError   string      `json:"last_error,omitempty"`
}

func viewEvent(e *Event) eventView {
	v := eventView{ID: e.ID, CPID: e.CPID, TID: e.TID, Type: e.Type, Status: e.Status, Attempts: e.Attempts,
		CreatedAt: e.CreatedAt.In(Seoul), DeliveredAt: timePtr(e.DeliveredAt), LastError: e.LastError}
	if e.Status == EventPending {
		v.NextAt = timePtr(e.NextAt)
	}
	return v
}

// Bounds of an admin listing.
const (
	defaultEventList = 100
	maxEventList     = 1000
)

// AdminHandler serves the operators' webhook API, for the admin listener
// (which checks the admin token):
//
//	GET  /admin/webhooks?status=&cp_id=&tid=&limit=   the newest events first (limit 100, at most 1000)
//	POST /admin/webhooks/{id}/resend                  ResendWebhook
func (s *Service) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/webhooks", s.listEvents)
	mux.HandleFunc("/admin/webhooks", only("GET"))
	mux.HandleFunc("POST /admin/webhooks/{id}/resend", s.resendEvent)
	mux.HandleFunc("/admin/webhooks/{id}/resend", only("POST"))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint", "")
	})
	return mux
}

// only answers 405 on a path served to method alone.
func only(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use "+method, "")
	}
}

func (s *Service) listEvents(w http.ResponseWriter, r *http.Request) {
	f, err := eventFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "BAD_REQUEST", err.Error(), "")
		return
	}
	events, err := s.opts.Store.Events(r.Context(), f)
	if err != nil {
		s.log.Error("listing webhook events failed", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error", "")
		return
	}
	out := make([]eventView, len(events))
	for i := range events {
		out[i] = viewEvent(&events[i])
	}
	writeJSON(w, http.StatusOK, out)
}

func eventFilter(r *http.Request) (EventFilter, error) {
	q := r.URL.Query()
	f := EventFilter{Status: EventStatus(strings.ToUpper(q.Get("status"))), CPID: q.Get("cp_id"), TID: q.Get("tid"),
		Limit: defaultEventList}
	switch f.Status {
	case "", EventPending, EventDelivered, EventFailed:
	default:
		return f, errors.New("status must be PENDING, DELIVERED or FAILED")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxEventList {
			return f, fmt.Errorf("limit must be 1 to %d", maxEventList)
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Service) resendEvent(w http.ResponseWriter, r *http.Request) {
	e, err := s.resend(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such webhook event", "")
	case err != nil:
		s.log.Error("resending a webhook event failed", zap.Error(err))
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "internal error", "")
	default:
		writeJSON(w, http.StatusOK, viewEvent(e))
	}
}

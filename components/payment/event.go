package payment

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"time"
)

// The types of webhook event, one for each status a payment can reach that
// its merchant must hear about.
const (
	WebhookPaid               = "payment.paid"
	WebhookFailed             = "payment.failed"
	WebhookCancelled          = "payment.cancelled"
	WebhookPartiallyCancelled = "payment.partially_cancelled"
	WebhookRefunded           = "payment.refunded"
	WebhookPartiallyRefunded  = "payment.partially_refunded"
)

// eventType is the event a payment now in status s is announced by, or ""
// for a status the merchant is not told about (a step before the charge,
// or UNKNOWN).
func eventType(s Status) string {
	switch s {
	case StatusPaid:
		return WebhookPaid
	case StatusFailed:
		return WebhookFailed
	case StatusCancelled:
		return WebhookCancelled
	case StatusPartialCancelled:
		return WebhookPartiallyCancelled
	case StatusRefunded:
		return WebhookRefunded
	case StatusPartialRefunded:
		return WebhookPartiallyRefunded
	}
	return ""
}

// mark is what of a payment an event announces: a change of status, or one
// more cancel or refund done (a second partial cancel keeps the status).
type mark struct {
	status              Status
	cancelled, refunded int64
}

func markOf(p *Payment) mark { return mark{p.Status, p.Cancelled, p.Refunded} }

// watchTx is the Tx every transaction of the Service runs on. It remembers
// each payment as the transaction first saw it and as it last wrote it, so
// that emit can compare them when fn is done: the one place where events
// are made, whichever step, recovery pass or cancel changed the status.
type watchTx struct {
	Tx
	before  map[string]mark
	written []*Payment // the latest copy of each payment written, in order of first write
}

func newWatchTx(tx Tx) *watchTx { return &watchTx{Tx: tx, before: map[string]mark{}} }

func (w *watchTx) Payment(tid string) (*Payment, error) {
	p, err := w.Tx.Payment(tid)
	if err == nil {
		w.saw(p)
	}
	return p, err
}

func (w *watchTx) PaymentByOrder(cpID, orderID string) (*Payment, error) {
	p, err := w.Tx.PaymentByOrder(cpID, orderID)
	if err == nil {
		w.saw(p)
	}
	return p, err
}

func (w *watchTx) saw(p *Payment) {
	if _, ok := w.before[p.TID]; !ok {
		w.before[p.TID] = markOf(p)
	}
}

// PutPayment writes p. A payment written without being read first is read
// now, before it is overwritten, if the write would announce anything.
func (w *watchTx) PutPayment(p *Payment) error {
	if p == nil {
		return w.Tx.PutPayment(p)
	}
	if _, ok := w.before[p.TID]; !ok && eventType(p.Status) != "" {
		old, err := w.Tx.Payment(p.TID)
		switch {
		case err == nil:
			w.saw(old)
		case errors.Is(err, ErrNotFound):
			w.before[p.TID] = mark{}
		default:
			return err
		}
	}
	if err := w.Tx.PutPayment(p); err != nil {
		return err
	}
	if _, ok := w.before[p.TID]; !ok {
		w.before[p.TID] = mark{} // new, and announcing nothing yet
	}
	c := *p
	c.Cancels = slices.Clone(p.Cancels)
	if i := slices.IndexFunc(w.written, func(q *Payment) bool { return q.TID == p.TID }); i >= 0 {
		w.written[i] = &c
	} else {
		w.written = append(w.written, &c)
	}
	return nil
}

// emit writes, in the transaction of w, an event for every payment whose
// status (or cancelled or refunded amount) the transaction changed to one
// its merchant is told about, if the merchant has a webhook URL.
func (s *Service) emit(w *watchTx) error {
	for _, p := range w.written {
		typ := eventType(p.Status)
		if typ == "" || markOf(p) == w.before[p.TID] {
			continue
		}
		m, err := w.Merchant(p.CPID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if m.WebhookURL == "" {
			continue
		}
		e, err := s.newEvent(typ, p)
		if err != nil {
			return err
		}
		if err := w.PutEvent(e); err != nil {
			return err
		}
	}
	return nil
}

// eventBody is the JSON an event sends.
type eventBody struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      View      `json:"data"`
}

func (s *Service) newEvent(typ string, p *Payment) (*Event, error) {
	now := s.now()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(eventBody{Type: typ, Timestamp: now.In(Seoul), Data: ViewOf(p, now)}); err != nil {
		return nil, err
	}
	return &Event{ID: "msg_" + randomString(15), CPID: p.CPID, TID: p.TID, Type: typ,
		Body: bytes.TrimSuffix(buf.Bytes(), []byte("\n")), CreatedAt: now, NextAt: now, Status: EventPending}, nil
}

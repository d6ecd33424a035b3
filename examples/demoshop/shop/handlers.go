package shop

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// products is GET /: the catalogue, with a Buy button each.
func (s *Shop) products(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "products", catalogue)
}

// order is POST /orders: the order is recorded, registered with TUNA, and
// the browser is sent to the payment window.
func (s *Shop) order(w http.ResponseWriter, r *http.Request) {
	p, ok := product(r.PostFormValue("product"))
	if !ok {
		s.fail(w, http.StatusBadRequest, problem{Ko: "없는 상품입니다.", En: "There is no such product."})
		return
	}
	o := s.book.add(p)
	env, err := s.step(r.Context(), "payment/cp_auth", url.Values{
		"P_ID": {p.ID}, "P_NAME": {p.Name}, "P_PRICE": {strconv.FormatInt(p.Price, 10)},
		"ORDER_ID": {o.ID}, "RETURN_URL": {s.opts.PublicURL + "/return"},
	})
	var d struct {
		TID    string `json:"TID"`
		PayURL string `json:"PAY_URL"`
	}
	if err == nil && env.ok() {
		err = json.Unmarshal(env.Data, &d)
	}
	if err != nil || !env.ok() || d.PayURL == "" {
		s.opts.Log.Warn("payment/cp_auth failed", "order", o.ID, "code", env.Code, "err", err)
		s.book.set(o.ID, StatusFailed, codeOf(env, err))
		s.fail(w, http.StatusBadGateway, problem{Ko: "결제를 시작할 수 없습니다.", En: "The payment could not be started.", Code: codeOf(env, err)})
		return
	}
	s.book.registered(o.ID, d.TID, d.PayURL)
	http.Redirect(w, r, d.PayURL, http.StatusSeeOther)
}

// codeOf is TUNA's code of a failed step, or NO_ANSWER when TUNA gave no
// answer the shop could use.
func codeOf(env envelope, err error) string {
	if err != nil || env.ok() || env.Code == "" {
		return "NO_ANSWER"
	}
	return env.Code
}

// back is GET /return, where the payment window sends the browser. Anyone
// can type this URL, so its query only names the TID: what happens next
// comes from the shop's own order and from TUNA, server to server.
func (s *Shop) back(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o, ok := s.book.byTID(q.Get("TID"))
	if !ok {
		s.fail(w, http.StatusNotFound, problem{Ko: "주문을 찾을 수 없습니다.", En: "There is no such order."})
		return
	}
	if o.Status == StatusAwaiting {
		if q.Get("RESULT") == "SUCCESS" {
			s.bill(r.Context(), o)
		} else {
			s.refresh(r.Context(), o)
		}
	}
	http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
}

// bill confirms the payment of o for the order's own price.
func (s *Shop) bill(ctx context.Context, o Order) {
	env, err := s.step(ctx, "payment/bill", url.Values{"TID": {o.TID}, "AMOUNT": {strconv.FormatInt(o.Product.Price, 10)}})
	switch {
	case err == nil && env.ok():
		s.book.set(o.ID, StatusPaid, "")
	case err != nil, env.HTTP >= 500, env.Code == "BILL_UNKNOWN", env.Code == "TID_BUSY":
		// No answer is not a failure: the charge may have happened. TUNA
		// resolves it, and the order page asks the lookup API until it has.
		s.opts.Log.Warn("payment/bill: outcome unknown", "order", o.ID, "code", env.Code, "err", err)
		s.book.set(o.ID, StatusPending, "")
	case env.Code == "NOT_VERIFIED":
		// The user has not finished the window: nothing was charged, and the
		// order still waits for them.
	default:
		s.book.set(o.ID, StatusFailed, env.Code)
	}
}

// refresh asks TUNA where an unsettled order's payment stands: how a
// pending charge is settled, and how the shop hears of a payment that
// failed in the window.
func (s *Shop) refresh(ctx context.Context, o Order) {
	p, err := s.lookup(ctx, o.TID)
	if err != nil {
		s.opts.Log.Warn("payment lookup failed", "order", o.ID, "err", err)
		return
	}
	if p.Status == "VERIFIED" && o.Status == StatusPending {
		s.bill(ctx, o) // the first bill never reached TUNA; bill is idempotent
		return
	}
	if st, code, ok := fromTUNA(p); ok {
		s.book.set(o.ID, st, code)
	}
}

// show is GET /orders/{id}: the order and where its payment stands.
func (s *Shop) show(w http.ResponseWriter, r *http.Request) {
	o, ok := s.book.get(r.PathValue("id"))
	if !ok {
		s.fail(w, http.StatusNotFound, problem{Ko: "주문을 찾을 수 없습니다.", En: "There is no such order."})
		return
	}
	if o.TID != "" && (o.Status == StatusAwaiting || o.Status == StatusPending) {
		s.refresh(r.Context(), o)
		o, _ = s.book.get(o.ID)
	}
	s.render(w, http.StatusOK, "order", o)
}

// cancel is POST /orders/{id}/cancel: all that remains of the payment is
// cancelled (or refunded, after the month of the charge).
func (s *Shop) cancel(w http.ResponseWriter, r *http.Request) {
	o, ok := s.book.get(r.PathValue("id"))
	if !ok {
		s.fail(w, http.StatusNotFound, problem{Ko: "주문을 찾을 수 없습니다.", En: "There is no such order."})
		return
	}
	if o.Status == StatusPaid || o.Status == StatusPartlyCancelled {
		s.cancelPayment(r.Context(), o)
	}
	http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
}

func (s *Shop) cancelPayment(ctx context.Context, o Order) {
	// The key makes a retry (a double click, a timeout) cancel nothing more.
	env, err := s.step(ctx, "cancel/cancel", url.Values{
		"O_TID": {o.TID}, "REASON": {"customer request"}, "IDEMPOTENCY_KEY": {"cancel-" + o.ID},
	})
	var d struct {
		Status string `json:"STATUS"`
	}
	if err == nil && env.ok() {
		err = json.Unmarshal(env.Data, &d)
	}
	if err != nil || !env.ok() {
		s.opts.Log.Warn("cancel/cancel failed", "order", o.ID, "code", env.Code, "err", err)
		s.book.cancelRefused(o.ID, codeOf(env, err))
		return
	}
	s.book.cancelRefused(o.ID, "")
	if st, code, ok := fromTUNA(payment{Status: d.Status}); ok {
		s.book.set(o.ID, st, code)
	}
}

package shop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// envelope is every answer of a TUNA step. A business outcome is HTTP 200
// with result FAIL and a code; an error of the request is a 4xx or 5xx of
// the same shape.
type envelope struct {
	Result string          `json:"result"`
	Code   string          `json:"code"`
	TID    string          `json:"tid"`
	Data   json.RawMessage `json:"data"`
	HTTP   int             `json:"-"`
}

func (e envelope) ok() bool { return e.Result == "SUCCESS" }

// step posts a step of TUNA's API with the merchant's credentials added.
func (s *Shop) step(ctx context.Context, path string, form url.Values) (envelope, error) {
	form.Set("CP_ID", s.opts.CPID)
	form.Set("CP_PWD", s.opts.CPPassword)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.TUNA+"/tx/"+path, strings.NewReader(form.Encode()))
	if err != nil {
		return envelope{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return envelope{}, fmt.Errorf("%s: %w", path, err)
	}
	defer resp.Body.Close()
	env := envelope{HTTP: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return env, fmt.Errorf("%s: HTTP %d: %w", path, resp.StatusCode, err)
	}
	return env, nil
}

// payment is what the shop reads of the lookup API's answer, or of a
// webhook event's data.
type payment struct {
	TID      string `json:"tid"`
	Status   string `json:"status"`
	FailCode string `json:"fail_code"`
}

// lookup is GET /v1/payments/{tid}, with the merchant's credentials.
func (s *Shop) lookup(ctx context.Context, tid string) (payment, error) {
	var p payment
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.opts.TUNA+"/v1/payments/"+url.PathEscape(tid), nil)
	if err != nil {
		return p, err
	}
	req.SetBasicAuth(s.opts.CPID, s.opts.CPPassword)
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return p, fmt.Errorf("payment lookup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("payment lookup: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return p, fmt.Errorf("payment lookup: %w", err)
	}
	return p, nil
}

// fromTUNA is the shop's status for a payment status of TUNA's, and false
// for the steps before the charge, which change nothing for the shop.
func fromTUNA(p payment) (Status, string, bool) {
	switch p.Status {
	case "UNKNOWN":
		return StatusPending, "", true
	case "PAID":
		return StatusPaid, "", true
	case "PARTIAL_CANCELLED", "PARTIAL_REFUNDED":
		return StatusPartlyCancelled, "", true
	case "CANCELLED":
		return StatusCancelled, "", true
	case "REFUNDED":
		return StatusRefunded, "", true
	case "FAILED":
		return StatusFailed, p.FailCode, true
	case "EXPIRED":
		return StatusFailed, "PAYMENT_EXPIRED", true
	}
	return "", "", false
}

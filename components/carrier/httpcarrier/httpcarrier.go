// Package httpcarrier is a payment.Carrier and payment.SMSOutbox over the
// carrier HTTP API that package sim serves. It turns every answer that
// may hide an effect (a 504, any 5xx, a timeout, a lost connection on a
// charge, cancel or refund; any failure of an inquiry) into
// payment.ErrCarrierUnknown, so the caller asks instead of guessing. It
// logs nothing, and its errors carry neither phone numbers nor texts.
package httpcarrier

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

var (
	_ payment.Carrier   = (*Client)(nil)
	_ payment.SMSOutbox = (*Client)(nil)
)

// ErrConflict is the carrier's answer to a TID or cancel ID reused with
// other parameters (409 CONFLICT): nothing changed. Test with errors.Is.
var ErrConflict = errors.New("httpcarrier: TID or cancel ID reused with other parameters")

// DefaultTimeout bounds each call when Options.Timeout is 0.
const DefaultTimeout = 3 * time.Second

// maxBody bounds a response body.
const maxBody = 1 << 20

// Options configure New. A nil *Options means defaults.
type Options struct {
	// Timeout bounds each call, and never extends the caller's deadline;
	// 0 means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient sends the requests; nil means a client on
	// http.DefaultTransport.
	HTTPClient *http.Client
}

// Client calls the carrier API at one base URL. It is safe for concurrent
// use.
type Client struct {
	base    string
	timeout time.Duration
	hc      *http.Client
}

// New returns a client of the API at baseURL, e.g. http://127.0.0.1:9090.
func New(baseURL string, opts *Options) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("httpcarrier: base URL %q: want http(s)://host[:port][/path]", baseURL)
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), timeout: DefaultTimeout, hc: &http.Client{}}
	if opts != nil && opts.Timeout > 0 {
		c.timeout = opts.Timeout
	}
	if opts != nil && opts.HTTPClient != nil {
		c.hc = opts.HTTPClient
	}
	return c, nil
}

// StatusError is an answer other than 200. Unwrap gives the sentinel its
// code means (payment.ErrDeclined for DECLINED, …), or nil.
type StatusError struct {
	Op      string // "charge", "inquire", …
	Status  int
	Code    string // the body's "error", "" if none
	Message string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("httpcarrier: %s: status %d", e.Op, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap maps the carrier's business answers (4xx) to their sentinels.
func (e *StatusError) Unwrap() error {
	if e.Status >= 500 {
		return nil
	}
	return codes[e.Code]
}

var codes = map[string]error{
	"IDENTITY_MISMATCH": payment.ErrIdentityMismatch,
	"SMS_NOT_DELIVERED": payment.ErrSMSNotDelivered,
	"DECLINED":          payment.ErrDeclined,
	"REFUSED":           payment.ErrRefused,
	"CONFLICT":          ErrConflict,
	"NOT_FOUND":         payment.ErrNotFound,
}

// VerifyIdentity checks id against the subscriber.
func (c *Client) VerifyIdentity(ctx context.Context, id payment.Identity) error {
	return c.call(ctx, "verify identity", http.MethodPost, "/v1/identity", id, nil)
}

// SendSMS sends text to phone.
func (c *Client) SendSMS(ctx context.Context, phone, text string) error {
	body := map[string]string{"phone_number": phone, "text": text}
	return c.call(ctx, "send sms", http.MethodPost, "/v1/sms", body, nil)
}

// LastSMS returns the latest SMS the sandbox sent to phone, or
// payment.ErrNotFound.
func (c *Client) LastSMS(ctx context.Context, phone string) (payment.SMS, error) {
	var m payment.SMS
	err := c.call(ctx, "last sms", http.MethodGet, "/v1/sms/"+url.PathEscape(phone), nil, &m)
	return m, err
}

// Charge charges amount to phone once per tid.
func (c *Client) Charge(ctx context.Context, tid, phone string, amount int64) error {
	body := map[string]any{"tid": tid, "phone_number": phone, "amount": amount}
	return effect(c.call(ctx, "charge", http.MethodPost, "/v1/charges", body, nil))
}

// Inquire says what the carrier knows of tid.
func (c *Client) Inquire(ctx context.Context, tid string) (payment.ChargeState, error) {
	var st payment.ChargeState
	err := c.call(ctx, "inquire", http.MethodGet, "/v1/charges/"+url.PathEscape(tid), nil, &st)
	if err != nil {
		return payment.ChargeState{}, inquiry(err)
	}
	return st, nil
}

// Cancel cancels amount of tid's charge once per cancelID.
func (c *Client) Cancel(ctx context.Context, tid, cancelID string, amount int64) error {
	return c.cancel(ctx, "cancel", tid, cancelID, payment.TypeCancel, amount)
}

// Refund refunds amount of tid's charge once per cancelID.
func (c *Client) Refund(ctx context.Context, tid, cancelID string, amount int64) error {
	return c.cancel(ctx, "refund", tid, cancelID, payment.TypeRefund, amount)
}

func (c *Client) cancel(ctx context.Context, op, tid, cancelID string, typ payment.CancelType, amount int64) error {
	body := map[string]any{"cancel_id": cancelID, "amount": amount, "type": typ}
	return effect(c.call(ctx, op, http.MethodPost, "/v1/charges/"+url.PathEscape(tid)+"/cancels", body, nil))
}

// InquireCancel says whether cancelID was applied to tid.
func (c *Client) InquireCancel(ctx context.Context, tid, cancelID string) (bool, error) {
	var r struct {
		Done bool `json:"done"`
	}
	path := "/v1/charges/" + url.PathEscape(tid) + "/cancels/" + url.PathEscape(cancelID)
	if err := c.call(ctx, "inquire cancel", http.MethodGet, path, nil, &r); err != nil {
		return false, inquiry(err)
	}
	return r.Done, nil
}

// effect classifies the error of a request that may have taken effect:
// only a 4xx answer says for sure it did not.
func effect(err error) error {
	var se *StatusError
	if err == nil || (errors.As(err, &se) && se.Status < 500) {
		return err
	}
	return fmt.Errorf("%w: %w", payment.ErrCarrierUnknown, err)
}

// inquiry makes every failure of an inquiry unknown.
func inquiry(err error) error {
	return fmt.Errorf("%w: %w", payment.ErrCarrierUnknown, err)
}

// call sends one request within the call timeout and decodes a 200 body
// into out (if not nil). Other answers are *StatusError; a transport
// failure is wrapped without its URL, which may hold a phone number.
func (c *Client) call(ctx context.Context, op, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := c.request(ctx, method, path, in)
	if err != nil {
		return fmt.Errorf("httpcarrier: %s: %w", op, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("httpcarrier: %s: %w", op, withoutURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if resp.StatusCode != http.StatusOK {
		return statusError(op, resp.StatusCode, body)
	}
	if out == nil {
		return nil // the answer is the status; a cut body changes nothing
	}
	if err == nil {
		err = json.Unmarshal(body, out)
	}
	if err != nil {
		return fmt.Errorf("httpcarrier: %s: reading the answer: %w", op, err)
	}
	return nil
}

func (c *Client) request(ctx context.Context, method, path string, in any) (*http.Request, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, withoutURL(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func statusError(op string, status int, body []byte) *StatusError {
	var b struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &b) // a body that is not ours leaves the code empty
	return &StatusError{Op: op, Status: status, Code: b.Error, Message: b.Message}
}

// withoutURL drops the request URL a *url.Error names.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

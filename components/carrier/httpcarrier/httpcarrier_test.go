package httpcarrier_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/carrier/httpcarrier"
	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/session/storetest"
)

var person = payment.Identity{Name: "홍길동", Phone: "01012345678", Carrier: "LGU_MVNO", Birth: "19900101", Gender: "F"}

// newPair serves an in-memory simulator on a real listener and returns a
// client of it.
func newPair(t *testing.T) (*sim.Simulator, *httpcarrier.Client, *storetest.Clock) {
	t.Helper()
	clk := storetest.NewClock(time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC))
	s, err := sim.New(&sim.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); s.Close() })
	c, err := httpcarrier.New(srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, c, clk
}

// is reports whether err is want (nil for no error).
func is(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func TestClient_EndToEnd(t *testing.T) {
	s, c, clk := newPair(t)
	ctx := context.Background()
	weird := "T/1 ?#%한"
	refused := person
	refused.Phone = sim.PhoneIdentityMismatch
	calls := []struct {
		name string
		call func() error
		want error
	}{
		{"identity", func() error { return c.VerifyIdentity(ctx, person) }, nil},
		{"identity 001", func() error { return c.VerifyIdentity(ctx, refused) }, payment.ErrIdentityMismatch},
		{"sms", func() error { return c.SendSMS(ctx, "01012345678", "인증번호 [123456]") }, nil},
		{"sms 003", func() error { return c.SendSMS(ctx, sim.PhoneSMSNotDelivered, "x") }, payment.ErrSMSNotDelivered},
		{"last sms none", func() error { _, err := c.LastSMS(ctx, "01000000000"); return err }, payment.ErrNotFound},
		{"charge", func() error { return c.Charge(ctx, "T1", "01012345678", 1000) }, nil},
		{"charge repeat", func() error { return c.Charge(ctx, "T1", "01012345678", 1000) }, nil},
		{"charge conflict", func() error { return c.Charge(ctx, "T1", "01012345678", 9) }, httpcarrier.ErrConflict},
		{"charge odd TID", func() error { return c.Charge(ctx, weird, "01012345678", 700) }, nil},
		{"charge 004", func() error { return c.Charge(ctx, "T4", sim.PhoneDeclined, 1000) }, payment.ErrDeclined},
		{"charge 005", func() error { return c.Charge(ctx, "T5", sim.PhoneChargedUnknown, 1000) }, payment.ErrCarrierUnknown},
		{"charge 006", func() error { return c.Charge(ctx, "T6", sim.PhoneNotChargedUnknown, 1000) }, payment.ErrCarrierUnknown},
		{"charge 008", func() error { return c.Charge(ctx, "T8", sim.PhonePrepaid, 1000) }, nil},
		{"inquire 005", func() error { _, err := c.Inquire(ctx, "T5"); return err }, payment.ErrCarrierUnknown},
		{"inquire 006", func() error { _, err := c.Inquire(ctx, "T6"); return err }, payment.ErrCarrierUnknown},
		{"cancel", func() error { return c.Cancel(ctx, "T1", "C1", 300) }, nil},
		{"cancel repeat", func() error { return c.Cancel(ctx, "T1", "C1", 300) }, nil},
		{"cancel conflict", func() error { return c.Cancel(ctx, "T1", "C1", 301) }, httpcarrier.ErrConflict},
		{"refund", func() error { return c.Refund(ctx, "T1", "R1", 200) }, nil},
		{"refund too much", func() error { return c.Refund(ctx, "T1", "R2", 501) }, payment.ErrRefused},
		{"refund zero", func() error { return c.Refund(ctx, "T1", "R3", 0) }, payment.ErrRefused},
		{"cancel 008", func() error { return c.Cancel(ctx, "T8", "C8", 1) }, payment.ErrRefused},
		{"cancel declined", func() error { return c.Cancel(ctx, "T4", "C4", 1) }, payment.ErrRefused},
		{"cancel odd TID", func() error { return c.Cancel(ctx, weird, "C/?", 700) }, nil},
	}
	for _, tt := range calls {
		if err := tt.call(); !is(err, tt.want) {
			t.Fatalf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}

	m, err := c.LastSMS(ctx, "01012345678")
	if err != nil || m.OTP != "123456" || m.Text != "인증번호 [123456]" || m.Phone != "01012345678" {
		t.Fatalf("LastSMS = %+v, %v", m, err)
	}
	clk.Advance(sim.DefaultUnknownFor)
	inquiries := []struct {
		tid  string
		want payment.ChargeState
	}{
		{"T1", payment.ChargeState{Charged: true, Amount: 1000, Cancelled: 300, Refunded: 200}},
		{weird, payment.ChargeState{Charged: true, Amount: 700, Cancelled: 700}},
		{"T4", payment.ChargeState{}},
		{"T5", payment.ChargeState{Charged: true, Amount: 1000}},
		{"T6", payment.ChargeState{}},
		{"never", payment.ChargeState{}},
	}
	for _, tt := range inquiries {
		if st, err := c.Inquire(ctx, tt.tid); err != nil || st != tt.want {
			t.Errorf("Inquire(%q) = %+v, %v; want %+v", tt.tid, st, err, tt.want)
		}
	}
	cancels := []struct {
		tid, id string
		want    bool
	}{{"T1", "C1", true}, {"T1", "R1", true}, {"T1", "R2", false}, {weird, "C/?", true}, {"T8", "C8", false}}
	for _, tt := range cancels {
		if done, err := c.InquireCancel(ctx, tt.tid, tt.id); err != nil || done != tt.want {
			t.Errorf("InquireCancel(%q, %q) = %v, %v; want %v", tt.tid, tt.id, done, err, tt.want)
		}
	}
	st, err := s.Statement(ctx)
	if err != nil || len(st) != 6 {
		t.Fatalf("statement %+v, %v; want 6 attempts", st, err)
	}
}

// kind is the class of error a call must return.
type kind int

const (
	ok      kind = iota
	unknown      // payment.ErrCarrierUnknown
	plain        // an error that is no carrier answer
)

func (k kind) check(err error) bool {
	business := []error{payment.ErrIdentityMismatch, payment.ErrSMSNotDelivered, payment.ErrDeclined,
		payment.ErrRefused, payment.ErrCarrierUnknown, payment.ErrNotFound, httpcarrier.ErrConflict}
	switch k {
	case ok:
		return err == nil
	case unknown:
		return errors.Is(err, payment.ErrCarrierUnknown)
	}
	for _, b := range business {
		if errors.Is(err, b) {
			return false
		}
	}
	return err != nil
}

func TestClient_ErrorMapping(t *testing.T) {
	servers := []struct {
		name     string
		handler  http.HandlerFunc // nil: a closed server
		effect   kind             // Charge, Cancel, Refund
		inquiry  kind             // Inquire, InquireCancel
		business kind             // VerifyIdentity, SendSMS, LastSMS
	}{
		{"504", status(504, `{"error":"OUTCOME_UNKNOWN"}`), unknown, unknown, plain},
		{"500", status(500, `oops`), unknown, unknown, plain},
		{"502 from a proxy", status(502, `<html>bad gateway</html>`), unknown, unknown, plain},
		{"503", status(503, `{"error":"INQUIRY_UNAVAILABLE"}`), unknown, unknown, plain},
		{"hangs past the timeout", hang, unknown, unknown, plain},
		{"connection refused", nil, unknown, unknown, plain},
		{"400", status(400, `{"error":"BAD_REQUEST"}`), plain, unknown, plain},
		{"plain 404", status(404, `404 page not found`), plain, unknown, plain},
		{"200 not JSON", status(200, `<html>`), ok, unknown, ok},
	}
	for _, tt := range servers {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeServer(t, tt.handler)
			ctx := context.Background()
			calls := []struct {
				name string
				want kind
				call func() error
			}{
				{"charge", tt.effect, func() error { return c.Charge(ctx, "T1", "01012345678", 1000) }},
				{"cancel", tt.effect, func() error { return c.Cancel(ctx, "T1", "C1", 1000) }},
				{"refund", tt.effect, func() error { return c.Refund(ctx, "T1", "C1", 1000) }},
				{"inquire", tt.inquiry, func() error { _, err := c.Inquire(ctx, "T1"); return err }},
				{"inquire cancel", tt.inquiry, func() error { _, err := c.InquireCancel(ctx, "T1", "C1"); return err }},
				{"verify identity", tt.business, func() error { return c.VerifyIdentity(ctx, person) }},
				{"send sms", tt.business, func() error { return c.SendSMS(ctx, "01012345678", "인증번호 123456") }},
			}
			for _, call := range calls {
				if err := call.call(); !call.want.check(err) {
					t.Errorf("%s: %v", call.name, err)
				}
			}
			if _, err := c.LastSMS(ctx, "01012345678"); !plain.check(err) {
				t.Errorf("last sms: %v", err)
			}
		})
	}
}

func status(code int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		w.Write([]byte(body))
	}
}

// hang answers nothing until the client gives up. It reads the body first:
// the server notices a client gone only once the body is read.
func hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	select {
	case <-r.Context().Done():
	case <-time.After(10 * time.Second): // a safety net, far past every client timeout
	}
}

// fakeServer serves h to a client with a short timeout; a nil h is a
// server already gone.
func fakeServer(t *testing.T, h http.HandlerFunc) *httpcarrier.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if h == nil {
		srv.Close()
	}
	c, err := httpcarrier.New(srv.URL, &httpcarrier.Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A client timeout never extends the caller's deadline.
func TestClient_TimeoutWithinDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(hang))
	defer srv.Close()
	c, err := httpcarrier.New(srv.URL, &httpcarrier.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Charge(ctx, "T1", "01012345678", 1000)
	if !errors.Is(err, payment.ErrCarrierUnknown) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Charge = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Charge took %s past a 50ms deadline", d)
	}
}

// Without Options, and without a deadline from the caller, a call gives up
// after DefaultTimeout.
func TestClient_DefaultTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(hang))
	defer srv.Close()
	c, err := httpcarrier.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = c.Refund(context.Background(), "T1", "R1", 1000)
	if d := time.Since(start); !errors.Is(err, payment.ErrCarrierUnknown) || d < httpcarrier.DefaultTimeout || d > 2*httpcarrier.DefaultTimeout {
		t.Fatalf("Refund = %v after %s, want unknown after %s", err, d, httpcarrier.DefaultTimeout)
	}
}

// Errors carry neither the phone number nor the text (an OTP).
func TestClient_ErrorsHidePhoneAndText(t *testing.T) {
	for _, h := range []http.HandlerFunc{nil, hang, status(500, `x`)} {
		c := fakeServer(t, h)
		ctx := context.Background()
		errs := []error{c.SendSMS(ctx, "01055556666", "인증번호 987654"), c.Charge(ctx, "T1", "01055556666", 1)}
		_, err := c.LastSMS(ctx, "01055556666")
		errs = append(errs, err)
		for _, err := range errs {
			if err == nil || strings.Contains(err.Error(), "01055556666") || strings.Contains(err.Error(), "987654") {
				t.Errorf("error %q", err)
			}
		}
	}
}

func TestNew_BadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9090", "ftp://x", "http://", "://x"} {
		if _, err := httpcarrier.New(u, nil); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

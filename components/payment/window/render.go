package window

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
)

// page is what every template gets.
type page struct {
	Nonce string // the CSP nonce of the response's inline script
	CSS   string
	Alert *text

	TID, CSRF                 string
	Merchant, Product, Amount string

	Form     userForm
	Invalid  map[string]bool
	Carriers []option
	OTP      otpView

	ReturnURL string // the error page's way back to the merchant
	RetryURL  string // the error page's way back into the window

	formAction string // an origin besides 'self' that a form's answer may redirect to
}

// otpView is the OTP screen's own part.
type otpView struct {
	Phone     string // masked
	Seconds   int64  // until the OTP expires; 0 when unknown or past
	Remaining string // Seconds as m:ss, for pages without JavaScript
	Until     string // the expiry, HH:MM:SS in Asia/Seoul
	Sealed    string // the user's details, sealed, for a resend
}

var pageNames = []string{"form", "otp", "error", "done"}

func parsePages() (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("window: templates: %w", err)
		}
		out[name] = t
	}
	return out, nil
}

func (w *Window) newPage() *page {
	return &page{Nonce: randomString(16), CSS: w.cssURL}
}

// securityHeaders sets the headers every answer carries. Pages replace the
// strict default CSP with their own, which allows their nonce.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(rw, r)
	})
}

// render writes page pg with template name.
func (w *Window) render(rw http.ResponseWriter, pg *page, name string, status int) {
	var buf bytes.Buffer
	if err := w.pages[name].ExecuteTemplate(&buf, "layout", pg); err != nil {
		w.log.Error("payment window: rendering failed", zap.String("page", name), zap.Error(err))
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	h := rw.Header()
	h.Set("Content-Security-Policy", fmt.Sprintf("default-src 'self'; script-src 'self' 'nonce-%s'; "+
		"style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "+
		"form-action 'self'%s", pg.Nonce, prefixed(" ", pg.formAction)))
	h.Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// summarize puts what is being paid on pg.
func (w *Window) summarize(ctx context.Context, pg *page, p *payment.Payment) {
	pg.TID, pg.Product, pg.Amount = p.TID, p.ProductName, formatKRW(p.Amount)
	pg.Merchant = p.CPID
	pg.formAction = returnOrigin(p.ReturnURL)
	if w.opts.Merchant == nil {
		return
	}
	if name, err := w.opts.Merchant(ctx, p.CPID); err != nil {
		w.log.Warn("payment window: merchant name", zap.String("cp_id", p.CPID), zap.Error(err))
	} else if name != "" {
		pg.Merchant = name
	}
}

// formPage shows the user form of p, filled with f.
func (w *Window) formPage(rw http.ResponseWriter, r *http.Request, p *payment.Payment, pg *page, f userForm, status int) {
	w.summarize(r.Context(), pg, p)
	pg.CSRF = w.issueCSRF(rw, r, p.TID)
	pg.Form, pg.Carriers = f, carrierOptions(f.Carrier)
	w.render(rw, pg, "form", status)
}

// otpPage shows the OTP screen of p. otpExpires (RFC 3339) drives the
// countdown; empty shows none.
func (w *Window) otpPage(rw http.ResponseWriter, r *http.Request, p *payment.Payment, pg *page, v otpView, otpExpires string) {
	w.summarize(r.Context(), pg, p)
	pg.CSRF = w.issueCSRF(rw, r, p.TID)
	if t, err := time.Parse(time.RFC3339, otpExpires); err == nil {
		if left := t.Sub(w.now()).Round(time.Second); left > 0 {
			v.Seconds = int64(left / time.Second)
			v.Remaining = fmt.Sprintf("%d:%02d", v.Seconds/60, v.Seconds%60)
			v.Until = t.In(payment.Seoul).Format("15:04:05")
		}
	}
	pg.OTP = v
	w.render(rw, pg, "otp", http.StatusOK)
}

// errorPage shows the message of code. The caller sets pg's links.
func (w *Window) errorPage(rw http.ResponseWriter, r *http.Request, pg *page, status int, code string) {
	if pg.Alert == nil {
		m := message(code)
		pg.Alert = &m
	}
	w.render(rw, pg, "error", status)
}

// failPage shows why payment p cannot go on, with the way back to the
// merchant (RESULT=FAIL and the code) when it has a RETURN_URL.
func (w *Window) failPage(rw http.ResponseWriter, r *http.Request, p *payment.Payment, pg *page, code string) {
	w.summarize(r.Context(), pg, p)
	pg.ReturnURL, _ = returnURL(p.ReturnURL, p.TID, code)
	w.errorPage(rw, r, pg, statusFor(code), code)
}

// statusFor is the HTTP status of an error page for code.
func statusFor(code string) int {
	switch code {
	case "TID_NOT_FOUND", "PAYMENT_NOT_FOUND":
		return http.StatusNotFound
	case "TID_EXPIRED", "PAYMENT_EXPIRED":
		return http.StatusGone
	}
	return http.StatusOK
}

// backToMerchant ends the window: a 303 to the merchant's RETURN_URL with
// the outcome (code empty for success), or a page when there is none.
func (w *Window) backToMerchant(rw http.ResponseWriter, r *http.Request, p *payment.Payment, pg *page, code string) {
	if u, ok := returnURL(p.ReturnURL, p.TID, code); ok {
		http.Redirect(rw, r, u, http.StatusSeeOther)
		return
	}
	if code != "" {
		w.failPage(rw, r, p, pg, code)
		return
	}
	w.summarize(r.Context(), pg, p)
	m := message(msgDone)
	pg.Alert = &m
	w.render(rw, pg, "done", http.StatusOK)
}

package window

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
)

const maxForm = 16 << 10 // bytes of a posted form

// withTID answers 404 for a path whose TID is not well formed.
func (w *Window) withTID(h func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		tid := r.PathValue("tid")
		if !tidRE.MatchString(tid) {
			w.errorPage(rw, r, w.newPage(), http.StatusNotFound, "TID_NOT_FOUND")
			return
		}
		h(rw, r, tid)
	}
}

// checked parses a posted form and lets it through only with the CSRF
// token of its TID: nothing runs otherwise.
func (w *Window) checked(h func(http.ResponseWriter, *http.Request, string)) func(http.ResponseWriter, *http.Request, string) {
	return func(rw http.ResponseWriter, r *http.Request, tid string) {
		r.Body = http.MaxBytesReader(rw, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			w.errorPage(rw, r, w.retryPage(tid), http.StatusBadRequest, msgBadRequest)
			return
		}
		if !w.checkCSRF(r, tid) {
			w.log.Info("payment window: CSRF check failed", zap.String("tid", tid), zap.String("path", r.URL.Path))
			w.errorPage(rw, r, w.retryPage(tid), http.StatusForbidden, msgCSRF)
			return
		}
		h(rw, r, tid)
	}
}

func (w *Window) retryPage(tid string) *page {
	pg := w.newPage()
	pg.RetryURL = "/pay/" + tid
	return pg
}

// load reads payment tid, or answers with an error page and nil.
func (w *Window) load(rw http.ResponseWriter, r *http.Request, tid string) *payment.Payment {
	p, err := w.opts.Payments(r.Context(), tid)
	switch {
	case errors.Is(err, payment.ErrNotFound):
		w.errorPage(rw, r, w.newPage(), http.StatusNotFound, "TID_NOT_FOUND")
		return nil
	case err != nil:
		w.log.Error("payment window: loading the payment failed", zap.String("tid", tid), zap.Error(err))
		w.errorPage(rw, r, w.retryPage(tid), http.StatusInternalServerError, msgGeneric)
		return nil
	}
	return p
}

// show is GET /pay/{tid}: the page for the payment's status. ?step=user
// asks for the user form again while no OTP is verified.
func (w *Window) show(rw http.ResponseWriter, r *http.Request, tid string) {
	p := w.load(rw, r, tid)
	if p == nil {
		return
	}
	if r.URL.Query().Get("step") == "user" && w.beforeOTP(p) {
		w.formPage(rw, r, p, w.newPage(), userForm{}, http.StatusOK)
		return
	}
	w.byStatus(rw, r, p, w.newPage())
}

// beforeOTP reports whether p waits for the user's details or an OTP.
func (w *Window) beforeOTP(p *payment.Payment) bool {
	s := p.ViewStatus(w.now())
	return s == payment.StatusReady || s == payment.StatusUserAuthed
}

// byStatus shows what the window shows for p's status.
func (w *Window) byStatus(rw http.ResponseWriter, r *http.Request, p *payment.Payment, pg *page) {
	switch s := p.ViewStatus(w.now()); {
	case s == payment.StatusReady:
		w.formPage(rw, r, p, pg, userForm{}, http.StatusOK)
	case s == payment.StatusUserAuthed:
		w.otpPage(rw, r, p, pg, otpView{Phone: payment.MaskPhone(p.Phone)}, "")
	case s == payment.StatusVerified, s == payment.StatusUnknown, s.Charged():
		w.backToMerchant(rw, r, p, pg, "")
	case s == payment.StatusExpired:
		w.failPage(rw, r, p, pg, "PAYMENT_EXPIRED")
	case s == payment.StatusFailed && p.FailCode != "":
		w.failPage(rw, r, p, pg, p.FailCode)
	default:
		w.failPage(rw, r, p, pg, "PAYMENT_FAILED")
	}
}

// loadBeforeOTP loads the payment of a form that asks for an OTP; once
// that stage is over it answers with the payment's page and returns nil.
func (w *Window) loadBeforeOTP(rw http.ResponseWriter, r *http.Request, tid string) *payment.Payment {
	p := w.load(rw, r, tid)
	if p == nil || w.beforeOTP(p) {
		return p
	}
	w.byStatus(rw, r, p, w.newPage())
	return nil
}

// submitUser is POST /pay/{tid}/user: payment/user_auth with the form.
func (w *Window) submitUser(rw http.ResponseWriter, r *http.Request, tid string) {
	p := w.loadBeforeOTP(rw, r, tid)
	if p == nil {
		return
	}
	f := readUserForm(r)
	env := w.run(r.Context(), stepUserAuth, f.params(tid))
	w.afterUserAuth(rw, r, p, f, env, nil)
}

// resend is POST /pay/{tid}/resend: payment/user_auth again, with the
// details sealed in the OTP screen, for a new OTP.
func (w *Window) resend(rw http.ResponseWriter, r *http.Request, tid string) {
	p := w.loadBeforeOTP(rw, r, tid)
	if p == nil {
		return
	}
	sealed := r.PostForm.Get(sealedField)
	d, err := w.openDetails(tid, sealed)
	if err != nil {
		if !errors.Is(err, errDetails) {
			w.log.Error("payment window: opening sealed details failed", zap.String("tid", tid), zap.Error(err))
		}
		pg := w.newPage()
		m := message(msgDetails)
		pg.Alert = &m
		w.formPage(rw, r, p, pg, userForm{}, http.StatusBadRequest)
		return
	}
	env := w.run(r.Context(), stepUserAuth, d.Form.params(tid))
	w.afterUserAuth(rw, r, p, d.Form, env, &sealedDetails{d, sealed})
}

const sealedField = "sealed"

// afterUserAuth shows the outcome of a user_auth: the OTP screen on
// success; the form again (or, after a resend, the OTP screen) when the
// user can still fix or retry it; an error page when the payment cannot go
// on. resent is the resend's sealed details, nil for the form.
func (w *Window) afterUserAuth(rw http.ResponseWriter, r *http.Request, p *payment.Payment, f userForm, env Envelope, resent *sealedDetails) {
	pg := w.newPage()
	switch {
	case env.Result == resultSuccess:
		expires := stringData(env.Data, "OTP_EXPIRES_AT")
		v := otpView{Phone: maskedPhone(stringData(env.Data, "PHONE"), f.Phone)}
		var err error
		if v.Sealed, err = w.sealDetails(p.TID, details{Form: f, OTPExpires: expires}); err != nil {
			w.log.Error("payment window: no resend for this OTP screen", zap.String("tid", p.TID), zap.Error(err))
		}
		w.otpPage(rw, r, p, pg, v, expires)
	case env.Code == "SESSION_CLOSED" || env.Code == "OTP_ALREADY_USED":
		w.reshow(rw, r, p.TID)
	case terminal[env.Code]:
		w.failPage(rw, r, p, pg, env.Code)
	case resent != nil:
		pg.Alert = alertFor(env)
		v := otpView{Phone: payment.MaskPhone(f.Phone), Sealed: resent.sealed}
		w.otpPage(rw, r, p, pg, v, resent.OTPExpires)
	default:
		pg.Alert = alertFor(env)
		pg.Invalid = map[string]bool{}
		for _, name := range badFields(env.Data) {
			pg.Invalid[name] = true
		}
		w.formPage(rw, r, p, pg, f, http.StatusOK)
	}
}

// sealedDetails are details opened from their sealed form.
type sealedDetails struct {
	details
	sealed string
}

// submitOTP is POST /pay/{tid}/otp: payment/otp_verify, then back to the
// merchant on success.
func (w *Window) submitOTP(rw http.ResponseWriter, r *http.Request, tid string) {
	p := w.load(rw, r, tid)
	if p == nil {
		return
	}
	if p.ViewStatus(w.now()) != payment.StatusUserAuthed {
		w.byStatus(rw, r, p, w.newPage())
		return
	}
	sealed := r.PostForm.Get(sealedField)
	d, err := w.openDetails(tid, sealed)
	if err != nil {
		sealed = "" // the screen offers to enter the details again instead
	}
	otp := strings.TrimSpace(r.PostForm.Get("OTP"))
	env := w.run(r.Context(), stepOTP, map[string]string{"TID": tid, "OTP": otp})
	pg := w.newPage()
	switch {
	case env.Result == resultSuccess:
		w.backToMerchant(rw, r, p, pg, "")
	case env.Code == "OTP_LOCKED" || env.Code == "TOO_MANY_ATTEMPTS":
		w.backToMerchant(rw, r, p, pg, env.Code)
	case env.Code == "SESSION_CLOSED" || env.Code == "OTP_ALREADY_USED":
		w.reshow(rw, r, tid)
	case terminal[env.Code]:
		w.failPage(rw, r, p, pg, env.Code)
	case restart[env.Code]:
		pg.Alert = alertFor(env)
		w.formPage(rw, r, p, pg, userForm{}, http.StatusOK)
	default:
		pg.Alert = alertFor(env)
		w.otpPage(rw, r, p, pg, otpView{Phone: payment.MaskPhone(p.Phone), Sealed: sealed}, d.OTPExpires)
	}
}

// reshow shows the page for the payment's status as it is now, after a
// step said the window is behind it.
func (w *Window) reshow(rw http.ResponseWriter, r *http.Request, tid string) {
	if p := w.load(rw, r, tid); p != nil {
		w.byStatus(rw, r, p, w.newPage())
	}
}

// terminal codes end the payment: no retry in this window can help.
var terminal = map[string]bool{
	"PAYMENT_EXPIRED": true, "PAYMENT_FAILED": true, "PAYMENT_NOT_FOUND": true,
	"TID_EXPIRED": true, "TID_NOT_FOUND": true, "WRONG_PROTOCOL": true,
	"TOO_MANY_ATTEMPTS": true, "OTP_SEND_LIMIT": true, "OTP_LOCKED": true,
}

// restart codes of otp_verify send the user back to the form: there is no
// OTP standing to verify.
var restart = map[string]bool{"STEP_OUT_OF_ORDER": true, "OTP_NOT_SENT": true, "USER_NOT_CHECKED": true}

const (
	resultSuccess = "SUCCESS"
	resultFail    = "FAIL"
)

// run runs a step of the payment protocol. An internal failure is logged
// and becomes a FAIL the user may retry.
func (w *Window) run(ctx context.Context, step string, params map[string]string) Envelope {
	env, err := w.opts.Run(ctx, protocol, step, params)
	if err != nil {
		w.log.Error("payment window: step failed", zap.String("tid", params["TID"]),
			zap.String("step", step), zap.String("code", env.Code), zap.Error(err))
		env.Result = resultFail
		if env.Code == "" || env.Code == "OK" {
			env.Code = "INTERNAL_ERROR"
		}
	}
	if env.Result != resultSuccess && env.Code == "" {
		env.Code = msgGeneric
	}
	return env
}

// maskedPhone is the step's masked phone, or phone masked here: the page
// never shows a full number.
func maskedPhone(fromStep, phone string) string {
	if strings.Contains(fromStep, "****") {
		return fromStep
	}
	return payment.MaskPhone(phone)
}

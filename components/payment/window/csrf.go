package window

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
)

// A window's CSRF token is HMAC-SHA256(key, "csrf" ‖ tid ‖ nonce), where
// nonce is random per browser window and kept in an HttpOnly cookie scoped
// to the payment's path. A forged form from another site lacks the token;
// a token of another TID or of another browser does not match.
const (
	cookiePrefix = "tuna_pay_"
	csrfField    = "csrf"
	nonceBytes   = 32
	cookieMaxAge = 3600 // seconds: well past a payment's ten minutes
)

// issueCSRF returns the CSRF token for the forms of tid's window, setting
// the cookie that binds it when the browser has none.
func (w *Window) issueCSRF(rw http.ResponseWriter, r *http.Request, tid string) string {
	nonce, ok := cookieNonce(r, tid)
	if !ok {
		nonce = randomString(nonceBytes)
		http.SetCookie(rw, &http.Cookie{
			Name: cookiePrefix + tid, Value: nonce, Path: "/pay/" + tid, MaxAge: cookieMaxAge,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: isHTTPS(r),
		})
	}
	return w.csrfToken(tid, nonce)
}

// checkCSRF reports whether the posted form carries the token of tid for
// this browser's cookie. The form must be parsed.
func (w *Window) checkCSRF(r *http.Request, tid string) bool {
	nonce, ok := cookieNonce(r, tid)
	got := r.PostForm.Get(csrfField)
	if !ok || got == "" {
		return false
	}
	return hmac.Equal([]byte(got), []byte(w.csrfToken(tid, nonce)))
}

func (w *Window) csrfToken(tid, nonce string) string {
	m := hmac.New(sha256.New, w.csrfKey)
	m.Write([]byte("csrf"))
	m.Write([]byte(tid)) // fixed length: the concatenation is unambiguous
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookieNonce is the nonce of tid's cookie, if it is well formed.
func cookieNonce(r *http.Request, tid string) (string, bool) {
	c, err := r.Cookie(cookiePrefix + tid)
	if err != nil || len(c.Value) != base64.RawURLEncoding.EncodedLen(nonceBytes) {
		return "", false
	}
	if _, err := base64.RawURLEncoding.DecodeString(c.Value); err != nil {
		return "", false
	}
	return c.Value, true
}

// isHTTPS reports whether the browser reached us over HTTPS, directly or
// through a TLS-terminating proxy. Trusting the header is harmless here: at
// worst a client makes its own cookie Secure.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// randomString returns n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

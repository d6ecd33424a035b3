package window

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
)

// Envelope is a step's answer.
type Envelope struct {
	Result, Code, Message, TID string
	Data                       map[string]any
}

// RunStep runs a protocol step through the engine. A business outcome is an
// Envelope and a nil error; an engine refusal (TID_EXPIRED,
// STEP_OUT_OF_ORDER, TOO_MANY_ATTEMPTS…) is an Envelope with Result "FAIL"
// and that code, with a non-nil error only for internal failures.
type RunStep func(ctx context.Context, protocol, step string, params map[string]string) (Envelope, error)

// Options configure a Window. Run, Payments and Key are required.
type Options struct {
	Run RunStep
	// Payments returns the ledger row of tid; payment.ErrNotFound if none.
	Payments func(ctx context.Context, tid string) (*payment.Payment, error)
	// Merchant returns a merchant's display name; nil shows the CP ID.
	Merchant func(ctx context.Context, cpID string) (name string, err error)
	// Key (≥ 32 bytes) keys the CSRF tokens and seals the user's details
	// between the OTP screen and a resend.
	Key []byte
	Now func() time.Time // default time.Now
	Log *zap.Logger      // default a no-op logger
}

// Errors of the window. Test them with errors.Is.
var (
	// ErrOptions is returned by New for missing or unusable Options.
	ErrOptions = errors.New("window: bad options")
	// errDetails is a sealed resend blob that is malformed, tampered
	// with, another TID's or expired.
	errDetails = errors.New("window: sealed details are not valid")
)

const (
	protocol     = "payment"
	stepUserAuth = "user_auth"
	stepOTP      = "otp_verify"
)

// tidRE is the engine's TID: a ULID in Crockford base32.
var tidRE = regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{26}$`)

// Window serves the payment window. It is safe for concurrent use.
type Window struct {
	opts     Options
	log      *zap.Logger
	csrfKey  []byte
	sealKey  []byte
	pages    map[string]*template.Template
	assets   map[string]asset
	cssURL   string
	resendTo time.Duration // how long a sealed resend blob is good for
}

// New returns a Window for opts.
func New(opts Options) (*Window, error) {
	switch {
	case opts.Run == nil:
		return nil, fmt.Errorf("%w: Run is required", ErrOptions)
	case opts.Payments == nil:
		return nil, fmt.Errorf("%w: Payments is required", ErrOptions)
	case len(opts.Key) < 32:
		return nil, fmt.Errorf("%w: Key must have at least 32 bytes", ErrOptions)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Window{opts: opts, log: opts.Log, resendTo: 10 * time.Minute}
	if w.log == nil {
		w.log = zap.NewNop()
	}
	var err error
	if w.csrfKey, w.sealKey, err = deriveKeys(opts.Key); err != nil {
		return nil, err
	}
	if w.assets, w.cssURL, err = loadAssets(); err != nil {
		return nil, err
	}
	if w.pages, err = parsePages(); err != nil {
		return nil, err
	}
	return w, nil
}

// Handler serves the window:
//
//	GET  /pay/{tid}          the page for the payment's status
//	POST /pay/{tid}/user     the user's details: payment/user_auth, then the OTP screen
//	POST /pay/{tid}/otp      the OTP: payment/otp_verify, then back to the merchant
//	POST /pay/{tid}/resend   a new OTP from the sealed details of the OTP screen
//	GET  /pay/assets/{name}  the stylesheet
func (w *Window) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pay/assets/{name}", w.serveAsset)
	mux.HandleFunc("GET /pay/{tid}", w.withTID(w.show))
	mux.HandleFunc("POST /pay/{tid}/user", w.withTID(w.checked(w.submitUser)))
	mux.HandleFunc("POST /pay/{tid}/otp", w.withTID(w.checked(w.submitOTP)))
	mux.HandleFunc("POST /pay/{tid}/resend", w.withTID(w.checked(w.resend)))
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		w.errorPage(rw, r, w.newPage(), http.StatusNotFound, msgPageNotFound)
	})
	return securityHeaders(mux)
}

func (w *Window) now() time.Time { return w.opts.Now() }

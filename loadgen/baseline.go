package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/server"
	"github.com/tunapay/tuna/session"
)

// BaselineHandler is the payment flow of protocols/payment.yaml (and the
// cancel of protocols/cancel.yaml) written by hand: plain Go handlers over
// svc — the same store, carrier and checks the scripts reach through the
// components — with no engine, no JavaScript and no session table. The
// ledger is the only state: svc already refuses a step out of order (no
// OTP before the checks, no charge before the OTP). It answers the same
// envelope under /baseline/payment/{cp_auth,user_auth,otp_verify,bill} and
// /baseline/cancel/cancel, with the same parameters, so `tuna loadgen
// --prefix /baseline` drives it as it drives TUNA.
func BaselineHandler(svc *payment.Service) http.Handler {
	return baselineMux(&baseline{svc: svc}, BaselinePrefix)
}

// BaselinePrefix and SessionBaselinePrefix are where the two baselines are
// served.
const (
	BaselinePrefix        = "/baseline"
	SessionBaselinePrefix = "/baseline-session"
)

func baselineMux(b *baseline, prefix string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+prefix+"/payment/cp_auth", b.handle(cpAuthParams, b.step("cp_auth", b.cpAuth)))
	mux.HandleFunc("POST "+prefix+"/payment/user_auth", b.handle(userAuthParams, b.step("user_auth", b.userAuth)))
	mux.HandleFunc("POST "+prefix+"/payment/otp_verify", b.handle(otpVerifyParams, b.step("otp_verify", b.otpVerify)))
	mux.HandleFunc("POST "+prefix+"/payment/bill", b.handle(billParams, b.step("bill", b.bill)))
	mux.HandleFunc("POST "+prefix+"/cancel/cancel", b.handle(cancelParams, b.cancel))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, http.StatusNotFound, failEnvelope(server.CodeNotFound, "no such endpoint", ""))
	})
	return mux
}

type baseline struct {
	svc      *payment.Service
	sessions session.Store // nil: the ledger is the only state
}

// answer is what a handler returns: an envelope and its HTTP status.
type answer struct {
	status int
	env    server.Envelope
}

func ok(tid string, data map[string]any) answer {
	return answer{http.StatusOK, server.Envelope{Result: engine.ResultSuccess, Code: engine.CodeOK, Message: "success",
		TID: tid, Data: data}}
}

// failed is a business outcome: HTTP 200 with result FAIL.
func failed(tid string, o payment.Outcome, data map[string]any) answer {
	if data == nil {
		data = map[string]any{}
	}
	return answer{http.StatusOK, server.Envelope{Result: engine.ResultFail, Code: o.Code, Message: o.Message,
		TID: tid, Data: data}}
}

func failEnvelope(code, msg, tid string) server.Envelope {
	return server.Envelope{Result: engine.ResultFail, Code: code, Message: msg, TID: tid, Data: map[string]any{}}
}

// handle parses and checks the parameters as the server and the engine do,
// runs the step, and writes its envelope. An error from the payment
// service is a 500, as a script exception is.
func (b *baseline) handle(spec []param, step func(context.Context, map[string]string) (answer, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		params, err := server.ParseBody(r.Header.Get("Content-Type"), r.Body, server.Limits{})
		if err != nil {
			var be *server.BodyError
			if errors.As(err, &be) {
				writeEnvelope(w, http.StatusBadRequest, failEnvelope(be.Code, be.Msg, ""))
			} else {
				writeEnvelope(w, http.StatusBadRequest, failEnvelope(server.CodeBadRequest, "bad body", ""))
			}
			return
		}
		if a, bad := checkParams(spec, params); bad {
			writeEnvelope(w, a.status, a.env)
			return
		}
		a, err := step(r.Context(), params)
		if err != nil {
			writeEnvelope(w, http.StatusInternalServerError,
				failEnvelope(engine.CodeScriptError, "the step failed with an internal error", params["TID"]))
			return
		}
		writeEnvelope(w, a.status, a.env)
	}
}

func writeEnvelope(w http.ResponseWriter, status int, env server.Envelope) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

// merchant authenticates the request's merchant, as lib/payment.js does.
func (b *baseline) merchant(ctx context.Context, p map[string]string) (*payment.Merchant, bool) {
	return b.svc.Authenticate(ctx, p["CP_ID"], p["CP_PWD"])
}

var cpAuthFailed = payment.Outcome{Code: payment.CodeCPAuthFailed, Message: "merchant id or password is wrong"}

func (b *baseline) cpAuth(ctx context.Context, p map[string]string) (answer, error) {
	cp, found := b.merchant(ctx, p)
	if !found {
		return failed("", cpAuthFailed, nil), nil
	}
	price, _ := strconv.ParseInt(p["P_PRICE"], 10, 64) // checked by its pattern
	tid := engine.NewTID(time.Now())
	reg, err := b.svc.Register(ctx, payment.Order{TID: tid, CPID: cp.ID, OrderID: p["ORDER_ID"],
		ProductID: p["P_ID"], ProductName: p["P_NAME"], Amount: price, ReturnURL: p["RETURN_URL"]})
	if err != nil || !reg.OK {
		return failed(tid, reg.Outcome, nil), err
	}
	return ok(tid, map[string]any{"TID": tid, "PAY_URL": reg.PayURL, "EXPIRES_AT": reg.ExpiresAt}), nil
}

func (b *baseline) userAuth(ctx context.Context, p map[string]string) (answer, error) {
	tid := p["TID"]
	id := payment.Identity{Name: p["name"], Phone: p["phone_number"], Carrier: p["carrier"], Birth: p["birth"],
		Gender: p["gender"]}
	risk, err := b.svc.CheckRisk(ctx, tid, id.Phone)
	if err != nil || !risk.OK {
		return notFoundOr(tid, risk.Outcome, nil), err
	}
	ident, err := b.svc.VerifyIdentity(ctx, tid, id)
	if err != nil || !ident.OK {
		return failed(tid, ident, nil), err
	}
	sms, err := b.svc.SendOTP(ctx, tid, id)
	if err != nil || !sms.OK {
		return failed(tid, sms.Outcome, nil), err
	}
	return ok(tid, map[string]any{"PHONE": sms.Phone, "OTP_EXPIRES_AT": sms.ExpiresAt}), nil
}

func (b *baseline) otpVerify(ctx context.Context, p map[string]string) (answer, error) {
	tid := p["TID"]
	check, err := b.svc.VerifyOTP(ctx, tid, p["OTP"])
	if err != nil || !check.OK {
		return notFoundOr(tid, check.Outcome, map[string]any{"ATTEMPTS_LEFT": check.AttemptsLeft}), err
	}
	return ok(tid, map[string]any{}), nil
}

func (b *baseline) bill(ctx context.Context, p map[string]string) (answer, error) {
	tid := p["TID"]
	cp, found := b.merchant(ctx, p)
	if !found {
		return failed(tid, cpAuthFailed, nil), nil
	}
	amount, _ := strconv.ParseInt(p["AMOUNT"], 10, 64)
	c, err := b.svc.Charge(ctx, cp.ID, tid, amount)
	if err != nil || !c.OK {
		return notFoundOr(tid, c.Outcome, map[string]any{"STATUS": c.Status}), err
	}
	return ok(tid, map[string]any{"STATUS": c.Status, "AMOUNT": c.Amount, "PAID_AT": c.PaidAt}), nil
}

func (b *baseline) cancel(ctx context.Context, p map[string]string) (answer, error) {
	tid := engine.NewTID(time.Now())
	cp, found := b.merchant(ctx, p)
	if !found {
		return failed(tid, cpAuthFailed, nil), nil
	}
	amount, _ := strconv.ParseInt(p["AMOUNT"], 10, 64) // absent: 0, all that remains
	c, err := b.svc.Cancel(ctx, payment.CancelRequest{ID: tid, CPID: cp.ID, OTID: p["O_TID"], Amount: amount,
		Reason: p["REASON"], IdempotencyKey: p["IDEMPOTENCY_KEY"]})
	if err != nil || !c.OK {
		return failed(tid, c.Outcome, nil), err
	}
	return ok(tid, map[string]any{"TYPE": c.Type, "CANCELLED_AMOUNT": c.CancelledAmount,
		"REMAINING_AMOUNT": c.RemainingAmount, "STATUS": c.Status}), nil
}

// notFoundOr answers an unknown TID as TUNA does, 404 TID_NOT_FOUND (TUNA
// finds no session; here the ledger has no payment), and any other
// failure as the business outcome it is.
func notFoundOr(tid string, o payment.Outcome, data map[string]any) answer {
	if o.Code == payment.CodePaymentNotFound {
		return answer{http.StatusNotFound, failEnvelope(engine.CodeTIDNotFound, "no transaction has this TID", tid)}
	}
	return failed(tid, o, data)
}

// param is a declared parameter, as in a protocol file.
type param struct {
	name     string
	required bool
	max      int
	re       *regexp.Regexp
}

var (
	tidParam     = param{"TID", true, 0, engine.TIDPattern}
	amountRE     = regexp.MustCompile(`^[1-9][0-9]{0,8}$`)
	cpParams     = []param{{"CP_ID", true, 20, nil}, {"CP_PWD", true, 64, nil}}
	cpAuthParams = append(cpParams[:2:2], param{"P_ID", true, 40, nil}, param{"P_NAME", true, 100, nil},
		param{"P_PRICE", true, 0, amountRE}, param{"ORDER_ID", false, 64, regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)},
		param{"RETURN_URL", false, 1024, regexp.MustCompile(`^https?://[^\s]+$`)})
	userAuthParams = []param{tidParam, {"name", true, 20, nil},
		{"phone_number", true, 0, regexp.MustCompile(`^01[016789][0-9]{7,8}$`)},
		{"carrier", true, 0, regexp.MustCompile(`^(SKT|KT|LGU|SKT_MVNO|KT_MVNO|LGU_MVNO)$`)},
		{"birth", true, 0, regexp.MustCompile(`^(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$`)},
		{"gender", true, 0, regexp.MustCompile(`^[MF]$`)}}
	otpVerifyParams = []param{tidParam, {"OTP", true, 0, regexp.MustCompile(`^[0-9]{6}$`)}}
	billParams      = append(cpParams[:2:2], tidParam, param{"AMOUNT", true, 0, amountRE})
	cancelParams    = append(cpParams[:2:2], param{"O_TID", true, 0, engine.TIDPattern},
		param{"AMOUNT", false, 0, amountRE}, param{"REASON", false, 200, nil},
		param{"IDEMPOTENCY_KEY", false, 64, regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)})
)

// checkParams answers 400 BAD_PARAMS, listing the missing and invalid
// parameters, as the engine does.
func checkParams(spec []param, p map[string]string) (answer, bool) {
	var missing, invalid []string
	for _, s := range spec {
		v, found := p[s.name]
		switch {
		case !found || v == "":
			if s.required {
				missing = append(missing, s.name)
			}
		case s.max > 0 && len([]rune(v)) > s.max, s.re != nil && !s.re.MatchString(v):
			invalid = append(invalid, s.name)
		}
	}
	if missing == nil && invalid == nil {
		return answer{}, false
	}
	env := failEnvelope(engine.CodeBadParams, "missing or invalid parameters", "")
	env.Data["missing"], env.Data["invalid"] = nonNil(missing), nonNil(invalid)
	return answer{http.StatusBadRequest, env}, true
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

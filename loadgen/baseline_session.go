package loadgen

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/session"
)

// SessionBaselineHandler is BaselineHandler that also keeps the flow in the
// session table, as TUNA does and as a hand-written service on the same
// stores would: each step after cp_auth holds its TID, loads the session,
// refuses a step whose predecessor has not succeeded, and saves the
// session with the step's record and data; cp_auth creates it. It is
// served under /baseline-session. Against TUNA it isolates what the engine
// and JavaScript cost; the ledger-only BaselineHandler shows the session
// table's cost as well.
func SessionBaselineHandler(svc *payment.Service, sessions session.Store) http.Handler {
	return baselineMux(&baseline{svc: svc, sessions: sessions}, SessionBaselinePrefix)
}

// The session settings of protocols/payment.yaml.
const (
	baselineTTL      = 30 * time.Minute
	baselineHoldWait = 2 * time.Second
	baselineLease    = 17 * time.Second // the bill's timeout and twice the grace, as the engine holds
)

// after is each step's predecessor in protocols/payment.yaml.
var after = map[string]string{"user_auth": "cp_auth", "otp_verify": "user_auth", "bill": "otp_verify"}

type stepFunc func(context.Context, map[string]string) (answer, error)

// step wraps fn with the session table when the baseline keeps one.
func (b *baseline) step(name string, fn stepFunc) stepFunc {
	if b.sessions == nil {
		return fn
	}
	if name == "cp_auth" {
		return func(ctx context.Context, p map[string]string) (answer, error) {
			a, err := fn(ctx, p)
			if err != nil || a.env.TID == "" {
				return a, err
			}
			now := time.Now()
			s := &session.Session{TID: a.env.TID, Protocol: "payment", CreatedAt: now,
				Data: map[string]any{"CP": map[string]any{"id": p["CP_ID"]},
					"PRODUCT": map[string]any{"id": p["P_ID"], "name": p["P_NAME"], "price": p["P_PRICE"]}},
				Steps: map[string]*session.StepRecord{}}
			b.record(s, name, a, now)
			return a, b.sessions.Create(ctx, s)
		}
	}
	return func(ctx context.Context, p map[string]string) (answer, error) {
		tid := p["TID"]
		release, err := b.sessions.Hold(ctx, tid, baselineHoldWait, baselineLease)
		if err != nil {
			return answer{http.StatusConflict, failEnvelope(engine.CodeTIDBusy, "busy", tid)}, nil
		}
		defer release()
		s, err := b.sessions.Load(ctx, tid)
		switch {
		case errors.Is(err, session.ErrNotFound), errors.Is(err, session.ErrExpired):
			return answer{http.StatusNotFound, failEnvelope(engine.CodeTIDNotFound, "no transaction has this TID", tid)}, nil
		case err != nil:
			return answer{}, err
		}
		if prev := s.Steps[after[name]]; prev == nil || prev.Result != engine.ResultSuccess {
			return answer{http.StatusConflict, failEnvelope(engine.CodeOutOfOrder, "step out of order", tid)}, nil
		}
		a, err := fn(ctx, p)
		if err != nil {
			return a, err
		}
		b.record(s, name, a, time.Now())
		return a, b.sessions.Save(ctx, s)
	}
}

// record keeps the step's outcome and data in s, as the engine does.
func (b *baseline) record(s *session.Session, name string, a answer, now time.Time) {
	s.Seq++
	rec := s.Steps[name]
	if rec == nil {
		rec = &session.StepRecord{}
		s.Steps[name] = rec
	}
	rec.Attempts++
	rec.Result, rec.Code, rec.Message, rec.Data, rec.LastSeq, rec.At = a.env.Result, a.env.Code, a.env.Message, a.env.Data, s.Seq, now
	if a.env.Result == engine.ResultSuccess {
		rec.SuccessSeq = s.Seq
		for k, v := range a.env.Data {
			s.Data[name+"."+k] = v
		}
	}
	s.UpdatedAt, s.ExpiresAt = now, now.Add(baselineTTL)
}

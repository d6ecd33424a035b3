package engine

import (
	"context"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"
	"go.uber.org/zap"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/failpoint"
	"github.com/tunapay/tuna/session"
)

// Request is one step call: the protocol and step from the path, and the
// flat parameters of the body.
type Request struct {
	Protocol  string
	Step      string
	Params    map[string]string
	RequestID string
}

// Results of a step.
const (
	ResultSuccess = "SUCCESS"
	ResultFail    = "FAIL"
)

// Response is a step's answer, in the envelope clients receive.
type Response struct {
	Result   string         `json:"result"`
	Code     string         `json:"code"`
	Message  string         `json:"message"`
	TID      string         `json:"tid"`
	Data     map[string]any `json:"data"`
	Replayed bool           `json:"-"` // the recorded answer of the step that closed the session
}

// Run runs one step. A business outcome (setSuccess or setFail) is a
// Response and a nil error. Anything else is an error (see ErrorCode);
// the Response is then non-nil only when the TID is known, to carry it.
func (e *Engine) Run(ctx context.Context, req Request) (*Response, error) {
	start := e.opts.Now()
	snap := e.Snapshot()
	p := snap.Protocols[req.Protocol]
	if p == nil {
		return nil, ErrUnknownProtocol
	}
	st := p.Step(req.Step)
	if st == nil {
		return nil, ErrUnknownStep
	}
	resp, err := e.run(ctx, snap, p, st, req)
	var result, code string
	if err == nil {
		result, code = resp.Result, resp.Code
	} else {
		result, code = ResultFail, ErrorCode(err)
	}
	e.metrics.observeStep(p.Name, st, result, code, e.opts.Now().Sub(start))
	return resp, err
}

func (e *Engine) run(ctx context.Context, snap *Snapshot, p *Protocol, st *Step, req Request) (*Response, error) {
	if err := checkParams(st, req.Params); err != nil {
		return nil, err
	}
	if st.Start {
		return e.runStart(ctx, snap, p, st, req)
	}
	tid := req.Params["TID"]
	tidOnly := &Response{TID: tid}
	release, err := e.hold(ctx, tid, st)
	if err != nil {
		return tidOnly, err
	}
	defer release()
	t0 := time.Now()
	sess, err := e.opts.Store.Load(ctx, tid)
	e.metrics.observeStore("load", t0)
	if err != nil {
		return tidOnly, err
	}
	if sess.Protocol != p.Name {
		return tidOnly, ErrWrongProtocol
	}
	if resp, ok := replay(sess, st); ok {
		return resp, nil
	}
	if err := checkFlow(p, st, sess); err != nil {
		return tidOnly, err
	}
	return e.runAndSave(ctx, snap, p, st, req, sess)
}

func (e *Engine) hold(ctx context.Context, tid string, st *Step) (func(), error) {
	t0 := time.Now()
	release, err := e.opts.Store.Hold(ctx, tid, e.opts.HoldWait, st.Timeout+2*e.opts.Grace)
	e.metrics.observeStore("hold", t0)
	return release, err
}

func (e *Engine) runStart(ctx context.Context, snap *Snapshot, p *Protocol, st *Step, req Request) (*Response, error) {
	now := e.opts.Now()
	sess := &session.Session{
		TID: NewTID(now), Protocol: p.Name, CreatedAt: now,
		Data: map[string]any{}, Steps: map[string]*session.StepRecord{},
	}
	return e.runAndSave(ctx, snap, p, st, req, sess)
}

// checkParams checks the declared parameters, and the TID of a step that
// continues a session.
func checkParams(st *Step, params map[string]string) error {
	var pe ParamError
	if !st.Start {
		switch tid, ok := params["TID"]; {
		case !ok || tid == "":
			pe.Missing = append(pe.Missing, "TID")
		case !TIDPattern.MatchString(tid):
			pe.Invalid = append(pe.Invalid, "TID")
		}
	}
	for _, prm := range st.Params {
		v, ok := params[prm.Name]
		switch {
		case !ok || v == "":
			if prm.Required {
				pe.Missing = append(pe.Missing, prm.Name)
			}
		case prm.Max > 0 && utf8.RuneCountInString(v) > prm.Max,
			prm.Pattern != nil && !prm.Pattern.MatchString(v):
			pe.Invalid = append(pe.Invalid, prm.Name)
		}
	}
	if len(pe.Missing)+len(pe.Invalid) > 0 {
		return &pe
	}
	return nil
}

// replay answers a repeat of the step that closed the session with its
// recorded answer, running nothing.
func replay(sess *session.Session, st *Step) (*Response, bool) {
	if !sess.Closed() || sess.ClosedBy != st.Name {
		return nil, false
	}
	rec := sess.Steps[st.Name]
	return &Response{Result: rec.Result, Code: rec.Code, Message: rec.Message, TID: sess.TID,
		Data: nonNil(rec.Data), Replayed: true}, true
}

func checkFlow(p *Protocol, st *Step, sess *session.Session) error {
	if sess.Closed() {
		return ErrSessionClosed
	}
	for _, dep := range st.After {
		if !succeeded(p, sess, dep, 0) {
			return ErrOutOfOrder
		}
	}
	if rec := sess.Steps[st.Name]; st.MaxAttempts > 0 && rec != nil && rec.Attempts >= st.MaxAttempts {
		return ErrTooManyAttempts
	}
	return nil
}

// succeeded reports whether step name has a success that still stands: one
// later than the standing success of every step it comes after. Running an
// earlier step again (a new OTP for another phone number) so takes back the
// successes that depended on it.
func succeeded(p *Protocol, sess *session.Session, name string, depth int) bool {
	rec := sess.Steps[name]
	if rec == nil || rec.SuccessSeq == 0 || depth > len(p.Steps) {
		return false
	}
	for _, dep := range p.Step(name).After {
		d := sess.Steps[dep]
		if !succeeded(p, sess, dep, depth+1) || d.SuccessSeq >= rec.SuccessSeq {
			return false
		}
	}
	return true
}

func (e *Engine) runAndSave(ctx context.Context, snap *Snapshot, p *Protocol, st *Step, req Request, sess *session.Session) (*Response, error) {
	r, persist, res, runErr := e.execute(ctx, snap, p, st, req, sess)
	if errors.Is(runErr, ErrPoolTimeout) {
		return nil, runErr // nothing ran: no attempt counted, nothing saved
	}
	now := e.opts.Now()
	rec := record(sess, st, now)
	if runErr == nil {
		applyOutcome(sess, st, rec, r, persist, res)
	} else {
		rec.Result, rec.Code, rec.Message, rec.Data = ResultFail, ErrorCode(runErr), "", nil
	}
	sess.UpdatedAt, sess.ExpiresAt = now, now.Add(p.TTL)
	if err := e.save(ctx, st, sess); err != nil {
		e.log.Error("session save failed", zap.String("tid", sess.TID), zap.String("protocol", p.Name),
			zap.String("step", st.Name), zap.Error(err))
		return &Response{TID: sess.TID}, err
	}
	if runErr != nil {
		return &Response{TID: sess.TID}, runErr
	}
	return &Response{Result: rec.Result, Code: rec.Code, Message: rec.Message, TID: sess.TID, Data: nonNil(res)}, nil
}

func record(sess *session.Session, st *Step, now time.Time) *session.StepRecord {
	sess.Seq++
	rec := sess.Steps[st.Name]
	if rec == nil {
		rec = &session.StepRecord{}
		sess.Steps[st.Name] = rec
	}
	rec.Attempts++
	rec.LastSeq, rec.At = sess.Seq, now
	return rec
}

func applyOutcome(sess *session.Session, st *Step, rec *session.StepRecord, r *run, persist, res map[string]any) {
	rec.Result, rec.Code, rec.Message, rec.Data = ResultFail, r.code, r.message, res
	if r.success {
		rec.Result, rec.SuccessSeq = ResultSuccess, sess.Seq
		if st.Final {
			sess.ClosedBy = st.Name
		}
	}
	if st.SessionSave == SaveAlways || st.SessionSave == SaveSuccess && r.success {
		sess.Data = persist
	}
}

func (e *Engine) save(ctx context.Context, st *Step, sess *session.Session) error {
	failpoint.Hit(failpoint.SessionBeforeSave)
	t0 := time.Now()
	defer e.metrics.observeStore("save", t0)
	if st.Start {
		return e.opts.Store.Create(ctx, sess)
	}
	return e.opts.Store.Save(ctx, sess)
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// execute runs the step's script on a pooled runtime and returns what it
// set. Its context is the step's own: bounded by the step timeout and not
// cancelled when the client goes away, so a step is never cut in the middle
// of a component call because a caller hung up.
func (e *Engine) execute(ctx context.Context, snap *Snapshot, p *Protocol, st *Step, req Request, sess *session.Session) (*run, map[string]any, map[string]any, error) {
	v, err := e.pool.get(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	stepCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), st.Timeout)
	defer cancel()
	r := &run{snap: snap, proto: p, step: st, logBase: e.log, reqID: req.RequestID, params: req.Params, sessData: sess.Data,
		call: components.Call{Ctx: stepCtx, TID: sess.TID, Protocol: p.Name, Step: st.Name, Clock: e.opts.Now}}
	r.call.NewLog = r.log
	persist, res := map[string]any{}, map[string]any{}
	v.req.set(nil, req.Params)
	v.sess.set(sess.Data, nil)
	v.persist.set(persist, nil)
	v.res.set(res, nil)
	if err := e.interruptible(v, r, st); err != nil {
		return nil, nil, nil, e.scriptErr(r.log(), p, st, err)
	}
	if !r.set {
		r.log().Error("script set no result", zap.String("script", st.Script))
		return nil, nil, nil, ErrNoResult
	}
	return r, persist, res, nil
}

var errTimeout = errors.New("step timeout")

// interruptible runs the script, interrupting it when the step's timeout
// passes, as the components' context (made with the same timeout) ends. If
// it has not stopped a grace period later (stuck in Go code that ignores
// its context), the step is answered anyway and the runtime is dropped when
// it finally returns.
func (e *Engine) interruptible(v *vm, r *run, st *Step) error {
	// The runtime's own timers, reset for each step: a step allocates none.
	v.timeout.Reset(st.Timeout)
	v.cur = r
	v.jobs <- st.script
	v.grace.Reset(st.Timeout + e.opts.Grace)
	select {
	case err := <-v.done:
		v.grace.Stop()
		if !v.timeout.Stop() {
			<-v.fired // the interrupt was sent: wait for it, then clear it
			v.rt.ClearInterrupt()
		}
		e.pool.put(v)
		return err
	case <-v.grace.C:
		e.pool.drop(v)
		r.log().Error("script did not stop after its timeout; runtime dropped", zap.Duration("timeout", st.Timeout))
		return errTimeout
	}
}

func (e *Engine) scriptErr(log *zap.Logger, p *Protocol, st *Step, err error) error {
	var ie *goja.InterruptedError
	if errors.Is(err, errTimeout) || errors.As(err, &ie) || errors.Is(err, context.DeadlineExceeded) {
		log.Warn("script timed out", zap.String("script", st.Script), zap.Duration("timeout", st.Timeout))
		return ErrScriptTimeout
	}
	se := &ScriptError{Protocol: p.Name, Step: st.Name, File: st.Script, Err: err}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		se.Err = errors.New(ex.Value().String())
		se.Stack = ex.String()
		se.File, se.Line, se.Column = throwSite(ex, st)
	}
	log.Error("script error", zap.String("at", se.Where()), zap.String("error", se.Err.Error()), zap.String("stack", se.Stack))
	return se
}

// throwSite finds the script position an exception was raised at, skipping
// native frames, and undoes the step wrapper's shift of line 1.
func throwSite(ex *goja.Exception, st *Step) (string, int, int) {
	for _, f := range ex.Stack() {
		if f.SrcName() == "" || f.SrcName() == "<native>" {
			continue
		}
		pos := f.Position()
		if pos.Filename == st.Script && pos.Line == 1 {
			pos.Column -= len(stepPrefix)
		}
		return pos.Filename, pos.Line, pos.Column
	}
	return st.Script, 0, 0
}

package main

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/window"
	"github.com/tunapay/tuna/engine"
)

// payWindow is the hosted payment window at /pay/{tid}: it drives the
// payment protocol's steps through the engine, as any client would.
func payWindow(eng *engine.Engine, svc *payment.Service, key []byte, log *zap.Logger) (http.Handler, error) {
	w, err := window.New(window.Options{
		Run:      windowRunner(eng),
		Payments: func(ctx context.Context, tid string) (*payment.Payment, error) { return ledgerRow(ctx, svc, tid) },
		Merchant: func(ctx context.Context, cpID string) (string, error) { return merchantName(ctx, svc, cpID) },
		Key:      key,
		Log:      log.Named("window"),
	})
	if err != nil {
		return nil, err
	}
	return w.Handler(), nil
}

// serverFaults are the engine answers that are failures of the server, not
// of the request: the window shows a generic "try again" for them.
var serverFaults = map[string]bool{
	engine.CodeScriptError: true, engine.CodeScriptTimeout: true, engine.CodeNoResult: true,
	engine.CodeInternal: true, engine.CodeBusy: true,
}

func windowRunner(eng *engine.Engine) window.RunStep {
	return func(ctx context.Context, protocol, step string, params map[string]string) (window.Envelope, error) {
		resp, err := eng.Run(ctx, engine.Request{Protocol: protocol, Step: step, Params: params})
		if err == nil {
			return window.Envelope{Result: resp.Result, Code: resp.Code, Message: resp.Message, TID: resp.TID, Data: resp.Data}, nil
		}
		env := window.Envelope{Result: engine.ResultFail, Code: engine.ErrorCode(err), TID: params["TID"], Data: map[string]any{}}
		var pe *engine.ParamError
		if errors.As(err, &pe) {
			env.Data["missing"], env.Data["invalid"] = pe.Missing, pe.Invalid
		}
		if serverFaults[env.Code] {
			return env, err
		}
		return env, nil
	}
}

func ledgerRow(ctx context.Context, svc *payment.Service, tid string) (*payment.Payment, error) {
	var p *payment.Payment
	err := svc.Store().View(ctx, func(tx payment.Tx) error {
		var err error
		p, err = tx.Payment(tid)
		return err
	})
	return p, err
}

func merchantName(ctx context.Context, svc *payment.Service, cpID string) (string, error) {
	var name string
	err := svc.Store().View(ctx, func(tx payment.Tx) error {
		m, err := tx.Merchant(cpID)
		if err == nil {
			name = m.Name
		}
		return err
	})
	return name, err
}

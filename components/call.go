package components

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Call is the running step as a component method sees it. A method receives
// it when its first parameter is *Call. Do not keep it past the method call.
type Call struct {
	Ctx      context.Context // cancelled when the step times out
	TID      string
	Protocol string
	Step     string
	Log      *zap.Logger // carries tid, protocol and step; masks nothing: never log secrets
	Clock    func() time.Time
}

// Context returns the step's context; a slow component must honour it.
func (c *Call) Context() context.Context {
	if c.Ctx == nil {
		return context.Background()
	}
	return c.Ctx
}

// Now returns the step's clock reading (a fixed clock in tests).
func (c *Call) Now() time.Time {
	if c.Clock == nil {
		return time.Now()
	}
	return c.Clock()
}

// Logger returns the step's logger, never nil.
func (c *Call) Logger() *zap.Logger {
	if c.Log == nil {
		return zap.NewNop()
	}
	return c.Log
}

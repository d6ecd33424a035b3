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
	// NewLog, when Log is nil, gives the step's logger on demand: the engine
	// builds it on first use, since most steps never log.
	NewLog func() *zap.Logger
	Clock  func() time.Time
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
	switch {
	case c.Log != nil:
		return c.Log
	case c.NewLog != nil:
		return c.NewLog()
	}
	return zap.NewNop()
}

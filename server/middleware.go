package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/tunapay/tuna/engine"
)

// noted is the echo context as the access log hands it down: handlers
// leave on it the TID, the answer's code and an internal error for the
// request's log line. Fields, not the context's store, whose map would be
// made for every request.
type noted struct {
	echo.Context
	tid, code string
	err       error
}

// note leaves what the access log writes of c's answer. A context that did
// not come through the access log (a panic's error page) has nothing to
// write it.
func note(c echo.Context, tid, code string, err error) {
	if n, ok := c.(*noted); ok {
		n.tid, n.code, n.err = tid, code, err
	}
}

func zapErr(err error) zap.Field { return zap.Error(err) }

// recoverer turns a panic anywhere below into a logged 500 envelope: no
// panic reaches a client, and the stack stays in the log.
func (s *Server) recoverer(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic while serving", zap.Any("panic", p), zap.ByteString("stack", debug.Stack()),
					zap.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return next(c)
	}
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// requestID keeps a well-formed X-Request-ID from the client or makes one,
// and answers with it.
func (s *Server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !requestIDRE.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// accessLog writes one line per request. It logs the path without the
// query string (where a careless client may put secrets) and no body.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		n := &noted{Context: c}
		if err := next(n); err != nil {
			s.handleError(err, n) // what c.Error does, with the notes
		}
		req, res := c.Request(), c.Response()
		fields := make([]zap.Field, 0, 10)
		fields = append(fields,
			zap.String("method", req.Method), zap.String("path", engine.MaskPhones(req.URL.Path)),
			zap.Int("status", res.Status), zap.Duration("latency", time.Since(start)),
			zap.Int64("bytes", res.Size), zap.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
			zap.String("remote", c.RealIP()))
		if n.tid != "" {
			fields = append(fields, zap.String("tid", n.tid))
		}
		if n.code != "" {
			fields = append(fields, zap.String("code", n.code))
		}
		if n.err != nil {
			fields = append(fields, zap.String("error", engine.MaskPhones(n.err.Error())))
		}
		s.log.Info("request", fields...)
		return nil
	}
}

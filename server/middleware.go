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

// Keys of values handlers leave on the echo context for the access log.
const (
	ctxTID  = "tuna.tid"
	ctxCode = "tuna.code"
	ctxErr  = "tuna.err"
)

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
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		req, res := c.Request(), c.Response()
		fields := []zap.Field{
			zap.String("method", req.Method), zap.String("path", engine.MaskPhones(req.URL.Path)),
			zap.Int("status", res.Status), zap.Duration("latency", time.Since(start)),
			zap.Int64("bytes", res.Size), zap.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
			zap.String("remote", c.RealIP()),
		}
		if tid, _ := c.Get(ctxTID).(string); tid != "" {
			fields = append(fields, zap.String("tid", tid))
		}
		if code, _ := c.Get(ctxCode).(string); code != "" {
			fields = append(fields, zap.String("code", code))
		}
		if e, _ := c.Get(ctxErr).(error); e != nil {
			fields = append(fields, zap.String("error", engine.MaskPhones(e.Error())))
		}
		s.log.Info("request", fields...)
		return nil
	}
}

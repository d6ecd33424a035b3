package server

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tunapay/tuna/engine"
)

// Envelope is the body of every answer of a protocol endpoint.
type Envelope struct {
	Result  string         `json:"result"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	TID     string         `json:"tid"`
	Data    map[string]any `json:"data"`
}

func (s *Server) step(c echo.Context) error {
	req := c.Request()
	params, err := ParseBody(req.Header.Get(echo.HeaderContentType), req.Body, s.opts.Limits)
	if err != nil {
		return err
	}
	resp, err := s.opts.Engine.Run(req.Context(), engine.Request{
		Protocol: c.Param("protocol"), Step: c.Param("step"), Params: params,
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
	})
	if err != nil {
		return &stepError{err: err, tid: tidOf(resp, params)}
	}
	note(c, resp.TID, resp.Code, nil)
	if resp.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	return c.JSON(http.StatusOK, Envelope{resp.Result, resp.Code, resp.Message, resp.TID, resp.Data})
}

// stepError carries the TID known when a step fails, for the envelope.
type stepError struct {
	err error
	tid string
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func tidOf(resp *engine.Response, params map[string]string) string {
	if resp != nil && resp.TID != "" {
		return resp.TID
	}
	if tid := params["TID"]; engine.TIDPattern.MatchString(tid) {
		return tid
	}
	return ""
}

// envelopeFor turns any error into its status and envelope: the one place
// that maps errors to HTTP.
func envelopeFor(err error) (int, Envelope) {
	env := Envelope{Result: engine.ResultFail, Data: map[string]any{}}
	var se *stepError
	if errors.As(err, &se) {
		env.TID = se.tid
	}
	var be *BodyError
	var pe *engine.ParamError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &be):
		env.Code, env.Message = be.Code, be.Msg
		if be.Param != "" {
			env.Data["param"] = be.Param
		}
	case errors.As(err, &pe):
		env.Code, env.Message = engine.CodeBadParams, pe.Error()
		env.Data["missing"], env.Data["invalid"] = nonNilStrings(pe.Missing), nonNilStrings(pe.Invalid)
	case errors.As(err, &he):
		env.Code = httpCode(he.Code)
	default:
		env.Code = engine.ErrorCode(err)
	}
	c := lookupCode(env.Code)
	if env.Message == "" {
		env.Message = c.Message
	}
	return c.Status, env
}

func httpCode(status int) string {
	switch status {
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusRequestEntityTooLarge:
		return CodeBodyTooLarge
	case http.StatusBadRequest:
		return CodeBadRequest
	}
	return engine.CodeInternal
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// handleError is echo's error handler: every error becomes the envelope.
// Internal details go to the log, never to the client.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, env := envelopeFor(err)
	var internal error
	if status >= 500 {
		internal = err
	}
	note(c, env.TID, env.Code, internal)
	if werr := c.JSON(status, env); werr != nil {
		s.log.Debug("writing an error response failed", zapErr(werr))
	}
}

package engine

import (
	"errors"

	"github.com/tunapay/tuna/session"
)

// Codes of the engine's own answers. Business codes come from scripts;
// every code, with its HTTP status, is listed in docs/errors.md.
const (
	CodeOK              = "OK"
	CodeFail            = "FAIL"
	CodeUnknownProtocol = "UNKNOWN_PROTOCOL"
	CodeUnknownStep     = "UNKNOWN_STEP"
	CodeBadParams       = "INVALID_PARAMS"
	CodeTIDNotFound     = "TID_NOT_FOUND"
	CodeTIDExpired      = "TID_EXPIRED"
	CodeTIDBusy         = "TID_BUSY"
	CodeWrongProtocol   = "WRONG_PROTOCOL"
	CodeOutOfOrder      = "STEP_OUT_OF_ORDER"
	CodeSessionClosed   = "SESSION_CLOSED"
	CodeTooManyAttempts = "TOO_MANY_ATTEMPTS"
	CodeScriptError     = "SCRIPT_ERROR"
	CodeScriptTimeout   = "SCRIPT_TIMEOUT"
	CodeNoResult        = "NO_RESULT"
	CodeBusy            = "SERVER_BUSY"
	CodeConflict        = "SESSION_CONFLICT"
	CodeInternal        = "INTERNAL_ERROR"
)

var errorCodes = []struct {
	err  error
	code string
}{
	{ErrUnknownProtocol, CodeUnknownProtocol},
	{ErrUnknownStep, CodeUnknownStep},
	{ErrWrongProtocol, CodeWrongProtocol},
	{ErrOutOfOrder, CodeOutOfOrder},
	{ErrSessionClosed, CodeSessionClosed},
	{ErrTooManyAttempts, CodeTooManyAttempts},
	{ErrScriptTimeout, CodeScriptTimeout},
	{ErrNoResult, CodeNoResult},
	{ErrPoolTimeout, CodeBusy},
	{session.ErrNotFound, CodeTIDNotFound},
	{session.ErrExpired, CodeTIDExpired},
	{session.ErrBusy, CodeTIDBusy},
	{session.ErrConflict, CodeConflict},
}

// ErrorCode returns the catalogue code for an error Run returned.
func ErrorCode(err error) string {
	var pe *ParamError
	var se *ScriptError
	switch {
	case errors.As(err, &pe):
		return CodeBadParams
	case errors.As(err, &se):
		return CodeScriptError
	}
	for _, ec := range errorCodes {
		if errors.Is(err, ec.err) {
			return ec.code
		}
	}
	return CodeInternal
}

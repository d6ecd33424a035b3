package engine

import (
	"errors"
	"fmt"
	"strings"
)

// Errors of a step that did not reach a business outcome. The server maps
// each to an HTTP status and a code of the catalogue (docs/errors.md).
// Session errors (session.ErrNotFound, ErrExpired, ErrBusy) pass through.
var (
	ErrUnknownProtocol = errors.New("unknown protocol")
	ErrUnknownStep     = errors.New("unknown step")
	ErrWrongProtocol   = errors.New("the TID belongs to another protocol")
	ErrOutOfOrder      = errors.New("a step this one comes after has not succeeded")
	ErrSessionClosed   = errors.New("the transaction is already closed")
	ErrTooManyAttempts = errors.New("no attempts left for this step")
	ErrScriptTimeout   = errors.New("the script ran past its timeout")
	ErrNoResult        = errors.New("the script set no result (call setSuccess or setFail)")
	ErrPoolTimeout     = errors.New("no script runtime came free in time")
)

// ParamError says which declared parameters are missing or malformed.
type ParamError struct {
	Missing []string
	Invalid []string // bad pattern or too long
}

func (e *ParamError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "missing: "+strings.Join(e.Missing, ", "))
	}
	if len(e.Invalid) > 0 {
		parts = append(parts, "invalid: "+strings.Join(e.Invalid, ", "))
	}
	return "bad parameters (" + strings.Join(parts, "; ") + ")"
}

// Fields returns every parameter named by the error.
func (e *ParamError) Fields() []string { return append(append([]string{}, e.Missing...), e.Invalid...) }

// ScriptError is a script that threw. Its Error names the file and line for
// the log; callers get only the code.
type ScriptError struct {
	Protocol, Step string
	File           string // script path where the exception was raised
	Line, Column   int
	Stack          string
	Err            error
}

func (e *ScriptError) Error() string {
	return fmt.Sprintf("%s/%s: %s:%d:%d: %v", e.Protocol, e.Step, e.File, e.Line, e.Column, e.Err)
}

func (e *ScriptError) Unwrap() error { return e.Err }

// Where is the file:line the script threw at.
func (e *ScriptError) Where() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

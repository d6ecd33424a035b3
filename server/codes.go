package server

import (
	"net/http"

	"github.com/tunapay/tuna/engine"
)

// Codes the server answers by itself, before or around a step.
const (
	CodeBadRequest       = "BAD_REQUEST"
	CodeBodyTooLarge     = "BODY_TOO_LARGE"
	CodeTooManyParams    = "TOO_MANY_PARAMS"
	CodeParamTooLong     = "PARAM_TOO_LONG"
	CodeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	CodeNotFound         = "NOT_FOUND"
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	CodeUnauthorized     = "UNAUTHORIZED"
)

// Code is one entry of the error catalogue: what a client may receive.
type Code struct {
	Code    string
	Status  int
	Message string
}

// Catalogue is every code the engine and the server answer with, and its
// HTTP status: the one place a code becomes a status. docs/errors.md lists
// the same codes; a test keeps the two equal.
var Catalogue = []Code{
	{engine.CodeOK, http.StatusOK, "success"},
	{engine.CodeFail, http.StatusOK, "the step failed"},
	{CodeBadRequest, http.StatusBadRequest, "the request body is malformed"},
	{CodeBodyTooLarge, http.StatusRequestEntityTooLarge, "the request body is too large"},
	{CodeTooManyParams, http.StatusBadRequest, "too many parameters"},
	{CodeParamTooLong, http.StatusBadRequest, "a parameter value is too long"},
	{CodeUnsupportedMedia, http.StatusUnsupportedMediaType, "unsupported Content-Type"},
	{CodeNotFound, http.StatusNotFound, "no such endpoint"},
	{CodeMethodNotAllowed, http.StatusMethodNotAllowed, "method not allowed"},
	{CodeUnauthorized, http.StatusUnauthorized, "missing or wrong credentials"},
	{engine.CodeUnknownProtocol, http.StatusNotFound, "no such protocol"},
	{engine.CodeUnknownStep, http.StatusNotFound, "no such step in this protocol"},
	{engine.CodeBadParams, http.StatusBadRequest, "missing or invalid parameters"},
	{engine.CodeTIDNotFound, http.StatusNotFound, "no transaction has this TID"},
	{engine.CodeTIDExpired, http.StatusGone, "the transaction has expired"},
	{engine.CodeTIDBusy, http.StatusConflict, "another request on this TID is in progress"},
	{engine.CodeWrongProtocol, http.StatusConflict, "the TID belongs to another protocol"},
	{engine.CodeOutOfOrder, http.StatusConflict, "a step this one comes after has not succeeded"},
	{engine.CodeSessionClosed, http.StatusConflict, "the transaction is already closed"},
	{engine.CodeTooManyAttempts, http.StatusConflict, "no attempts left for this step"},
	{engine.CodeConflict, http.StatusConflict, "the transaction changed concurrently; retry"},
	{engine.CodeScriptError, http.StatusInternalServerError, "the step failed with an internal error"},
	{engine.CodeScriptTimeout, http.StatusGatewayTimeout, "the step took too long"},
	{engine.CodeNoResult, http.StatusInternalServerError, "the step ended without a result"},
	{engine.CodeBusy, http.StatusServiceUnavailable, "the server is busy; retry shortly"},
	{engine.CodeInternal, http.StatusInternalServerError, "internal error"},
}

var byCode = func() map[string]Code {
	m := make(map[string]Code, len(Catalogue))
	for _, c := range Catalogue {
		m[c.Code] = c
	}
	return m
}()

// lookupCode returns the catalogue entry of code; unknown codes are
// internal errors (a test makes sure the engine has none).
func lookupCode(code string) Code {
	if c, ok := byCode[code]; ok {
		return c
	}
	return byCode[engine.CodeInternal]
}

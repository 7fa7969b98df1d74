// Package httperror is the one place that maps routing error codes to HTTP
// status codes, and the one error body: {"error":{"code","message","field","reason"}}.
// shared/httpapi writes its errors through it, and so does shared/webhook,
// which imports this leaf rather than the API (the webhooks Lambda does not
// link the API's handlers).
package httperror

import (
	"encoding/json"
	"net/http"

	"github.com/switchboard-oss/switchboard/shared/routing"
)

// Reasons of invalid_argument errors that have a status of their own.
const (
	ReasonTooLarge         = "too_large"          // 413: the body is over the limit
	ReasonMethodNotAllowed = "method_not_allowed" // 405: the route has no such method
)

var statusOf = map[routing.Code]int{
	routing.CodeInvalid:         http.StatusBadRequest,
	routing.CodeUnauthenticated: http.StatusUnauthorized,
	routing.CodeForbidden:       http.StatusForbidden,
	routing.CodeNotFound:        http.StatusNotFound,
	routing.CodeConflict:        http.StatusConflict,
	routing.CodeRateLimited:     http.StatusTooManyRequests,
	routing.CodeUnavailable:     http.StatusServiceUnavailable,
	routing.CodeInternal:        http.StatusInternalServerError,
}

// Status is the HTTP status of e: by its code (500 for an unknown one), 413
// and 405 for the invalid_argument reasons above.
func Status(e *routing.Error) int {
	if e.Code == routing.CodeInvalid {
		switch e.Reason {
		case ReasonTooLarge:
			return http.StatusRequestEntityTooLarge
		case ReasonMethodNotAllowed:
			return http.StatusMethodNotAllowed
		}
	}
	if s, ok := statusOf[e.Code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type body struct {
	Error detail `json:"error"`
}

type detail struct {
	Code    routing.Code `json:"code"`
	Message string       `json:"message"`
	Field   string       `json:"field,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

// Write writes e as the error body with its Status.
func Write(w http.ResponseWriter, e *routing.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(Status(e))
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body{Error: detail{Code: e.Code, Message: e.Message, Field: e.Field, Reason: e.Reason}})
}

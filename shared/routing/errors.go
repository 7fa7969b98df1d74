// Package routing holds Switchboard's domain: contacts, conversations,
// agents, teams, the timeline and the one error type every layer shares.
// It imports only the standard library.
package routing

import (
	"errors"
	"fmt"
)

// Code classifies an error. Only the HTTP layer maps codes to status codes.
type Code string

const (
	CodeInvalid         Code = "invalid_argument"
	CodeUnauthenticated Code = "unauthenticated"
	CodeForbidden       Code = "forbidden"
	CodeNotFound        Code = "not_found"
	CodeConflict        Code = "conflict"
	CodeRateLimited     Code = "rate_limited"
	CodeUnavailable     Code = "unavailable"
	CodeInternal        Code = "internal"
)

// Reasons refine CodeConflict so callers can decide whether to retry.
const (
	ReasonVersion   = "stale_version" // the item changed since it was read
	ReasonExists    = "already_exists"
	ReasonCapacity  = "over_capacity" // the agent has no free slot or is not in an allowed status
	ReasonDuplicate = "duplicate"     // an idempotency key was already claimed
	ReasonNoLoad    = "no_open_conversations"
	ReasonInUse     = "in_use" // the item is still referenced (an agent with open conversations, a team with members)
)

// Error is the one error type of Switchboard. Message is safe to show to
// clients; Field names the offending input where there is one.
type Error struct {
	Code    Code
	Message string
	Field   string
	Reason  string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input in the named field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing entity.
func NotFound(kind, id string) *Error {
	return &Error{Code: CodeNotFound, Message: fmt.Sprintf("%s %q not found", kind, id)}
}

// Conflict reports a failed condition, with a reason from the Reason* constants.
func Conflict(reason, format string, args ...any) *Error {
	return &Error{Code: CodeConflict, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for foreign errors and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorReason returns the conflict reason of err, or "".
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// IsNotFound reports whether err has CodeNotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == CodeNotFound }

// IsConflict reports whether err is a conflict with the given reason ("" = any reason).
func IsConflict(err error, reason string) bool {
	return ErrorCode(err) == CodeConflict && (reason == "" || ErrorReason(err) == reason)
}

package attune

import (
	"errors"
	"fmt"
)

// Kind classifies an Error. The set is closed: the HTTP layer maps each kind
// to one status code in one place.
type Kind uint8

// The error kinds.
const (
	KindInternal     Kind = iota // a fault the caller cannot fix
	KindInvalid                  // the request is malformed or names a bad value
	KindNotFound                 // no such resource for this caller
	KindConflict                 // the resource is in a state that forbids the action
	KindUnauthorized             // missing or bad credentials
	KindTooLarge                 // the request body or a file is over a limit
	KindRateLimited              // the caller is over its request rate
	KindUnavailable              // a dependency is temporarily unavailable
)

var kindNames = [...]string{
	KindInternal:     "internal",
	KindInvalid:      "invalid",
	KindNotFound:     "not_found",
	KindConflict:     "conflict",
	KindUnauthorized: "unauthorized",
	KindTooLarge:     "too_large",
	KindRateLimited:  "rate_limited",
	KindUnavailable:  "unavailable",
}

// String returns the kind's snake_case name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is attune's domain error: a kind, a message written for the person
// who will read it, and optionally the field it concerns and the error that
// caused it.
type Error struct {
	Kind    Kind
	Message string
	Field   string // the request field at fault, for KindInvalid
	Err     error  // the underlying cause, if any
}

// Error returns the message, followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error of the given kind with a formatted message.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalidf returns a KindInvalid Error naming the field at fault.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorKind reports the kind of the first Error in err's chain, or
// KindInternal when there is none.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorMessage returns the message of the first Error in err's chain, or a
// generic message for internal errors, whose details are for the log only.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

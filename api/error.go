package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"attune"
)

// statusOf maps an error to its HTTP status. It is the one place where
// attune's error kinds become status codes. A KindInvalid error that names
// a field is a validation error (422); one that does not is a bad request
// (400).
func statusOf(err error) int {
	var e *attune.Error
	if !errors.As(err, &e) {
		return http.StatusInternalServerError
	}
	switch e.Kind {
	case attune.KindInvalid:
		if e.Field != "" {
			return http.StatusUnprocessableEntity
		}
		return http.StatusBadRequest
	case attune.KindNotFound:
		return http.StatusNotFound
	case attune.KindConflict:
		return http.StatusConflict
	case attune.KindUnauthorized:
		return http.StatusUnauthorized
	case attune.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case attune.KindRateLimited:
		return http.StatusTooManyRequests
	case attune.KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// fieldError is one entry of a 422 answer, in the shape NuGen's (FastAPI)
// clients parse: where the fault is, what is wrong, and a machine word.
type fieldError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// validationError is a 422 naming one or more fields. Handlers return it
// through the same path as any other error.
type validationError struct {
	fields []fieldError
}

func (v *validationError) Error() string {
	if len(v.fields) == 0 {
		return "invalid request"
	}
	f := v.fields[0]
	return fmt.Sprintf("invalid %v: %s", f.Loc[len(f.Loc)-1], f.Msg)
}

// invalidField returns a validation error for one field. where is "body",
// "query" or "path".
func invalidField(where, field, msg, typ string) error {
	return invalidAt([]any{where, field}, msg, typ)
}

// invalidAt returns a validation error at a location such as
// ["body", "messages", 2, "content"].
func invalidAt(loc []any, msg, typ string) error {
	return &validationError{fields: []fieldError{{Loc: loc, Msg: msg, Type: typ}}}
}

// detailError is an error whose detail is an object with extra fields
// beside its message, such as the id of the existing document on a
// duplicate upload.
type detailError struct {
	status int
	detail map[string]any
}

func (d *detailError) Error() string {
	msg, _ := d.detail["message"].(string)
	return msg
}

// errorBody builds the JSON body of an error answer and its status.
// openai adds OpenAI's error object beside NuGen's detail, for the
// inference routes.
func errorBody(err error, openai bool) (int, map[string]any) {
	var (
		status int
		detail any
		msg    string
	)
	var v *validationError
	var d *detailError
	switch {
	case errors.As(err, &v):
		status, detail, msg = http.StatusUnprocessableEntity, v.fields, v.Error()
	case errors.As(err, &d):
		status, detail, msg = d.status, d.detail, d.Error()
	default:
		status, msg = statusOf(err), attune.ErrorMessage(err)
		var e *attune.Error
		if errors.As(err, &e) && e.Field != "" && status == http.StatusUnprocessableEntity {
			detail = []fieldError{{Loc: []any{"body", e.Field}, Msg: e.Message, Type: "value_error"}}
		} else {
			detail = msg
		}
	}
	body := map[string]any{"detail": detail}
	if openai {
		body["error"] = map[string]any{
			"message": msg,
			"type":    openaiType(status),
			"code":    openaiCode(err, status),
		}
	}
	return status, body
}

// openaiType names the error class the OpenAI SDKs expect for a status.
func openaiType(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "server_error"
	}
	return "invalid_request_error"
}

// openaiCode gives a short machine code for the error.
func openaiCode(err error, status int) string {
	var v *validationError
	if errors.As(err, &v) {
		return "invalid_value"
	}
	if status == http.StatusNotFound {
		return "model_not_found"
	}
	return attune.ErrorKind(err).String()
}

// writeError answers err. Internal errors are logged with their cause; the
// client sees only a generic message.
func writeError(w http.ResponseWriter, r *http.Request, err error, openai bool) {
	if r.Context().Err() != nil && errors.Is(err, r.Context().Err()) {
		// The client went away; no one reads the answer. 499 is the
		// status proxies record for it, which the access log and
		// metrics then show.
		logger(r).Info("client went away before the answer")
		w.WriteHeader(statusClientClosed)
		return
	}
	status, body := errorBody(err, openai)
	if status >= 500 {
		logger(r).Error("request failed", slog.String("error", err.Error()))
	}
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

// statusClientClosed records a request whose client left before the
// answer (nginx's 499).
const statusClientClosed = 499

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

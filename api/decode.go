package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"attune"
)

// decodeJSON reads r's body into v strictly: at most limit bytes (413
// beyond), one JSON value, no fields that v does not declare (422 naming
// the field), values of the declared types (422 naming the field).
// Malformed JSON is a 400 that says where it broke.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return bodyReadError(err, limit)
	}
	return unmarshalStrict(body, v)
}

// unmarshalStrict decodes one JSON value from data into v, refusing
// unknown fields and trailing data.
func unmarshalStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return attune.Errorf(attune.KindInvalid, "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return attune.Errorf(attune.KindInvalid, "malformed JSON: unexpected data after the first value at offset %d", dec.InputOffset())
	}
	return nil
}

// bodyReadError turns a failed body read into a 413 when the body was
// over its limit.
func bodyReadError(err error, limit int64) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return attune.Errorf(attune.KindTooLarge, "the request body is larger than the limit of %d bytes", limit)
	}
	return attune.Errorf(attune.KindInvalid, "cannot read the request body: %v", err)
}

// jsonError turns a decoding error into an answer a client can act on.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return attune.Errorf(attune.KindInvalid, "malformed JSON at offset %d: %v", syntax.Offset, syntax)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return attune.Errorf(attune.KindInvalid, "malformed JSON: the body ends before the value does")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return attune.Errorf(attune.KindInvalid, "the request body must be a JSON object, not %s", typ.Value)
		}
		return invalidField("body", field, fmt.Sprintf("must be %s, not %s", jsonTypeName(typ.Type.Kind().String()), typ.Value), "type_error")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return invalidField("body", name, "unknown field; remove it or check its spelling", "extra_forbidden")
	}
	return attune.Errorf(attune.KindInvalid, "malformed JSON: %v", err)
}

// jsonTypeName names a Go kind the way a JSON client thinks of it.
func jsonTypeName(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "a boolean"
	case kind == "slice", kind == "array":
		return "a list"
	}
	return "an object"
}

// alias resolves a field that NuGen spells two ways. It answers the value
// of whichever spelling is set, and a 422 when both are set and differ.
func alias(first, second string, a, b string) (string, error) {
	if a != "" && b != "" && a != b {
		return "", invalidField("body", second, fmt.Sprintf("%s and %s name the same field and differ; send one", first, second), "value_error")
	}
	if a != "" {
		return a, nil
	}
	return b, nil
}

// required reports a 422 for a missing body field.
func required(field string) error {
	return invalidField("body", field, "Field required", "missing")
}

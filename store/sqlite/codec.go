package sqlite

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// timeLayout is how times are stored: fixed-width RFC 3339 in UTC, so that
// text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// encTime returns t's stored form.
func encTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// encTimePtr returns t's stored form, or NULL for nil.
func encTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return encTime(*t)
}

// timeCol scans a stored time into *t.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	s, err := text(src)
	if err != nil {
		return err
	}
	*c.t, err = time.Parse(timeLayout, s)
	return err
}

// nullTimeCol scans a stored time or NULL into *t.
type nullTimeCol struct{ t **time.Time }

func (c nullTimeCol) Scan(src any) error {
	if src == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(src); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

// jsonCol stores v as JSON text and scans JSON text into v. With null set,
// a nil v is stored as NULL and NULL scans to the zero value.
type jsonCol struct {
	v    any
	null bool
}

func (c jsonCol) Value() (driver.Value, error) {
	if c.null && isNil(c.v) {
		return nil, nil
	}
	b, err := json.Marshal(c.v)
	return string(b), err
}

func (c jsonCol) Scan(src any) error {
	if src == nil {
		return nil
	}
	s, err := text(src)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(s), c.v)
}

// isNil reports whether v is nil or a nil pointer, slice or map.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		return rv.IsNil()
	}
	return false
}

// text returns a TEXT column's value as a string.
func text(src any) (string, error) {
	switch v := src.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	}
	return "", fmt.Errorf("store: want text, got %T", src)
}

// strs returns ss, or an empty slice for nil, so that JSON lists read back
// as they were written.
func strs(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Time is a timestamp on the wire. attune writes RFC 3339 in UTC; NuGen
// also writes zone-less forms, which are read as UTC.
type Time struct{ time.Time }

// timeLayouts are the forms Time accepts, tried in order.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// UnmarshalJSON reads a timestamp string; null and "" leave it zero.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("client: timestamp %s is not a string", b)
	}
	if s == "" {
		return nil
	}
	for _, layout := range timeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("client: cannot read timestamp %q", s)
}

// MarshalJSON writes RFC 3339, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(t.UTC().Format(time.RFC3339Nano))
}

// Text is a value the wire may carry as a string or as a number (a model's
// parameter count, for one). It keeps the text as sent.
type Text string

// UnmarshalJSON reads a string, a number or null.
func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*t = Text(s)
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*t = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("client: %s is neither a string nor a number", b)
	}
	*t = Text(n.String())
	return nil
}

// Int returns the value as an integer, and whether it is one.
func (t Text) Int() (int64, bool) {
	n, err := strconv.ParseInt(string(t), 10, 64)
	return n, err == nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

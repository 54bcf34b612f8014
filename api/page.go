package api

import (
	"net/http"
	"strconv"
	"time"
)

// page is a list request's window: at most limit items after skipping
// offset.
type page struct {
	Limit  int
	Offset int
}

// Page bounds.
const (
	defaultLimit = 10
	maxLimit     = 100
)

// parsePage reads limit (default 10, 1..100) and offset (default 0, not
// negative) from the query; a bad value is a 422 naming the parameter.
func parsePage(r *http.Request) (page, error) {
	p := page{Limit: defaultLimit}
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			return p, invalidField("query", "limit", "must be an integer", "int_parsing")
		case n < 1:
			return p, invalidField("query", "limit", "must be at least 1", "greater_than_equal")
		case n > maxLimit:
			return p, invalidField("query", "limit", "must be at most 100", "less_than_equal")
		}
		p.Limit = n
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil:
			return p, invalidField("query", "offset", "must be an integer", "int_parsing")
		case n < 0:
			return p, invalidField("query", "offset", "must not be negative", "greater_than_equal")
		}
		p.Offset = n
	}
	return p, nil
}

// window returns the part of a slice of n items that p selects, as start
// and end indexes.
func (p page) window(n int) (start, end int) {
	start = min(p.Offset, n)
	end = min(start+p.Limit, n)
	return start, end
}

// timestamp formats t as RFC 3339 in UTC, or null for the zero time.
func timestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// timePtr formats an optional time like timestamp.
func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	return timestamp(*t)
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"attune"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{errors.New("disk on fire"), 500},
		{attune.Errorf(attune.KindInternal, "x"), 500},
		{attune.Errorf(attune.KindInvalid, "x"), 400},
		{attune.Invalidf("name", "x"), 422},
		{attune.Errorf(attune.KindNotFound, "x"), 404},
		{attune.Errorf(attune.KindConflict, "x"), 409},
		{attune.Errorf(attune.KindUnauthorized, "x"), 401},
		{attune.Errorf(attune.KindTooLarge, "x"), 413},
		{attune.Errorf(attune.KindRateLimited, "x"), 429},
		{attune.Errorf(attune.KindUnavailable, "x"), 503},
		{fmt.Errorf("wrapped: %w", attune.Errorf(attune.KindNotFound, "x")), 404},
	}
	for _, tt := range tests {
		if got := statusOf(tt.err); got != tt.want {
			t.Errorf("statusOf(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestErrorBody(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		openai bool
		status int
		want   string
	}{
		{"plain", attune.Errorf(attune.KindNotFound, "no such document"), false, 404,
			`{"detail":"no such document"}`},
		{"internal hides cause", fmt.Errorf("sql: %w", errors.New("secret path")), false, 500,
			`{"detail":"internal error"}`},
		{"validation", invalidField("body", "name", "Field required", "missing"), false, 422,
			`{"detail":[{"loc":["body","name"],"msg":"Field required","type":"missing"}]}`},
		{"attune field error", attune.Invalidf("hyperparameters.epochs", "epochs must be between 1 and 100"), false, 422,
			`{"detail":[{"loc":["body","hyperparameters.epochs"],"msg":"epochs must be between 1 and 100","type":"value_error"}]}`},
		{"detail object", &detailError{status: 409, detail: map[string]any{"message": "dup", "document_id": "doc_1"}}, false, 409,
			`{"detail":{"document_id":"doc_1","message":"dup"}}`},
		{"openai", attune.Errorf(attune.KindNotFound, "The model x does not exist"), true, 404,
			`{"detail":"The model x does not exist","error":{"code":"model_not_found","message":"The model x does not exist","type":"invalid_request_error"}}`},
	}
	for _, tt := range tests {
		status, body := errorBody(tt.err, tt.openai)
		got, _ := json.Marshal(body)
		if status != tt.status || string(got) != tt.want {
			t.Errorf("%s: got %d %s, want %d %s", tt.name, status, got, tt.status, tt.want)
		}
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	tests := []struct {
		in     string
		status int
		has    string // a substring of the answer
	}{
		{`{"name":"a","count":2}`, 200, ""},
		{`{"name":"a","bogus":1}`, 422, `"loc":["body","bogus"]`},
		{`{"name":"a","count":"two"}`, 422, `"loc":["body","count"]`},
		{`{"name":"a"`, 400, "malformed JSON"},
		{`{"name":}`, 400, "malformed JSON at offset"},
		{`{"name":"a"} {"name":"b"}`, 400, "after the first value"},
		{``, 400, "empty"},
		{`[1,2]`, 400, "JSON object"},
		{`{"name":"` + strings.Repeat("x", 200) + `"}`, 413, "limit of 100 bytes"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/", strings.NewReader(tt.in))
		var b body
		err := decodeJSON(rec, req, 100, &b)
		status := 200
		text := ""
		if err != nil {
			var m map[string]any
			status, m = errorBody(err, false)
			raw, _ := json.Marshal(m)
			text = string(raw)
		}
		if status != tt.status || !strings.Contains(text, tt.has) {
			t.Errorf("decode %q: got %d %s, want %d containing %q", tt.in, status, text, tt.status, tt.has)
		}
	}
}

func TestParsePage(t *testing.T) {
	tests := []struct {
		query  string
		want   page
		status int
	}{
		{"", page{10, 0}, 0},
		{"limit=100&offset=5", page{100, 5}, 0},
		{"limit=101", page{}, 422},
		{"limit=0", page{}, 422},
		{"limit=x", page{}, 422},
		{"offset=-1", page{}, 422},
	}
	for _, tt := range tests {
		got, err := parsePage(httptest.NewRequest("GET", "/?"+tt.query, nil))
		if tt.status != 0 {
			if err == nil || statusOfAny(err) != tt.status {
				t.Errorf("parsePage(%q) err = %v, want status %d", tt.query, err, tt.status)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parsePage(%q) = %v, %v; want %v", tt.query, got, err, tt.want)
		}
	}
}

// statusOfAny is the status an error answers with.
func statusOfAny(err error) int {
	status, _ := errorBody(err, false)
	return status
}

func TestTimestamp(t *testing.T) {
	want := time.Date(2025, 1, 31, 12, 0, 0, 0, time.UTC)
	zone := time.FixedZone("x", 3600)
	if got := *timestamp(want.In(zone)); got != "2025-01-31T12:00:00Z" {
		t.Errorf("timestamp = %s, want UTC RFC 3339", got)
	}
	if timestamp(time.Time{}) != nil {
		t.Error("timestamp(zero) is not null")
	}
}

func TestRateLimit(t *testing.T) {
	l := newLimiters(RateLimit{PerSecond: 1, Burst: 2})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var got []bool
	for range 3 {
		ok, _ := l.allow("k", 0, now)
		got = append(got, ok)
	}
	ok, wait := l.allow("k", 0, now)
	if got[0] != true || got[1] != true || got[2] != false || ok {
		t.Fatalf("burst of 2 at 1/s: got %v then %v, want [true true false] then false", got, ok)
	}
	if retryAfter(wait) != 1 {
		t.Errorf("Retry-After = %d, want 1", retryAfter(wait))
	}
	if ok, _ := l.allow("other", 0, now); !ok {
		t.Error("a second key shares the first key's bucket")
	}
	if ok, _ := l.allow("k", 0, now.Add(time.Second)); !ok {
		t.Error("one second later the bucket has not refilled")
	}
	free := newLimiters(RateLimit{})
	for range 100 {
		if ok, _ := free.allow("k", 0, now); !ok {
			t.Fatal("a zero rate limits")
		}
	}
	if ok, _ := free.allow("slow", 0.5, now); !ok {
		t.Fatal("a key's own rate refuses its first request")
	}
	if ok, _ := free.allow("slow", 0.5, now); ok {
		t.Fatal("a key's own rate of 0.5/s lets a second request through at once")
	}
}

// TestWriteErrorClientGone checks that a request whose client left is
// recorded as 499, not as a server failure.
func TestWriteErrorClientGone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("POST", "/v1/chat/completions", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	writeError(rec, req, fmt.Errorf("generate: %w", ctx.Err()), true)
	if rec.Code != statusClientClosed {
		t.Errorf("status %d, want %d", rec.Code, statusClientClosed)
	}
	rec = httptest.NewRecorder()
	writeError(rec, httptest.NewRequest("GET", "/", nil), context.Canceled, false)
	if rec.Code != 500 {
		t.Errorf("a cancellation the client did not cause answered %d, want 500", rec.Code)
	}
}

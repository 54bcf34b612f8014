package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// bareServer builds the route table and mux without any dependencies, for
// tests that never reach a handler past authentication.
func bareServer(t *testing.T) *Server {
	t.Helper()
	s := &Server{
		cfg:     Config{}.withDefaults(),
		log:     slog.New(slog.DiscardHandler),
		metrics: NewMetrics(),
		limits:  newLimiters(RateLimit{}),
		now:     time.Now,
	}
	s.authCache = newAuthCache(0, s.now)
	s.routes = s.table()
	s.handler = s.mount()
	return s
}

// TestOpenAPICoversRoutes checks that every route the mux serves is in
// the OpenAPI document and that every documented operation reaches its
// route (a request to it is refused by authentication, not by the
// fallback 404).
func TestOpenAPICoversRoutes(t *testing.T) {
	s := bareServer(t)
	rec := httptest.NewRecorder()
	s.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json = %d", rec.Code)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, rt := range s.routes {
		if seen[rt.key()] {
			t.Errorf("route %s is in the table twice", rt.key())
		}
		seen[rt.key()] = true
		if _, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]; !ok {
			t.Errorf("route %s is missing from /openapi.json", rt.key())
		}
	}
	n := 0
	for path, ops := range doc.Paths {
		for method := range ops {
			n++
			if !seen[strings.ToUpper(method)+" "+path] {
				t.Errorf("/openapi.json documents %s %s, which no route serves", method, path)
			}
			code := serve(s, strings.ToUpper(method), fillPath(path))
			if code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
				t.Errorf("%s %s answers %d; the mux does not route it", method, path, code)
			}
		}
	}
	if n != len(s.routes) {
		t.Errorf("/openapi.json has %d operations, the table %d routes", n, len(s.routes))
	}
}

// fillPath puts a value in each wildcard of a documented path.
func fillPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "x1"
		}
	}
	return strings.Join(segs, "/")
}

func serve(s *Server, method, path string) int {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, nil)
	s.handler.ServeHTTP(rec, req)
	return rec.Code
}

// TestRoutingAmbiguousPaths checks the routes that ServeMux cannot tell
// apart by pattern alone: each request must reach the right route, which
// the access log's route label shows.
func TestRoutingAmbiguousPaths(t *testing.T) {
	s := bareServer(t)
	tests := []struct {
		method, path, route string
	}{
		{"GET", "/api/v3/benchmark/status/b1", "GET /api/v3/benchmark/status/{id}"},
		{"GET", "/api/v3/benchmark/b1/data", "GET /api/v3/benchmark/{id}/data"},
		{"GET", "/api/v3/benchmark/status/data", "GET /api/v3/benchmark/status/{id}"},
		{"GET", "/api/v3/benchmark/b1/other", "unmatched"},
		{"POST", "/api/v3/models/deploy-model/m1", "POST /api/v3/models/deploy-model/{model_id}"},
		{"POST", "/api/v3/models/m1/deployment", "POST /api/v3/models/{model_id}/deployment"},
		{"GET", "/api/v3/models/m1/deployment/status", "GET /api/v3/models/{model_id}/deployment/status"},
		{"GET", "/api/v3/models/deploy-model/m1/status", "GET /api/v3/models/deploy-model/{model_id}/status"},
		{"GET", "/api/v3/models/aligned/m1/adapter", "GET /api/v3/models/aligned/{id}/adapter"},
		{"GET", "/api/v3/documents/list", "GET /api/v3/documents/list"},
		{"GET", "/api/v3/documents/t1", "GET /api/v3/documents/{task_id}"},
		{"GET", "/api/v3/alignment/status/a1", "GET /api/v3/alignment/status/{id}"},
		{"GET", "/v1/models", "GET /v1/models"},
	}
	for _, tt := range tests {
		logs := &capture{}
		s.log = slog.New(logs)
		serve(s, tt.method, tt.path)
		if got := logs.last("route"); got != tt.route {
			t.Errorf("%s %s routed to %q, want %q", tt.method, tt.path, got, tt.route)
		}
	}
}

// capture is a slog handler that keeps the records it is given.
type capture struct {
	mu      sync.Mutex
	records []slog.Record
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }
func (c *capture) WithAttrs(as []slog.Attr) slog.Handler {
	return &captureWith{c: c, attrs: as}
}
func (c *capture) WithGroup(string) slog.Handler { return c }
func (c *capture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.records = append(c.records, r.Clone())
	return nil
}

// last returns attribute key of the newest record that has it.
func (c *capture) last(key string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.records) - 1; i >= 0; i-- {
		var v string
		c.records[i].Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				v = a.Value.String()
				return false
			}
			return true
		})
		if v != "" {
			return v
		}
	}
	return ""
}

// captureWith adds a logger's attributes to each record it passes on.
type captureWith struct {
	c     *capture
	attrs []slog.Attr
}

func (w *captureWith) Enabled(context.Context, slog.Level) bool { return true }
func (w *captureWith) WithAttrs(as []slog.Attr) slog.Handler {
	return &captureWith{c: w.c, attrs: append(slices.Clip(w.attrs), as...)}
}
func (w *captureWith) WithGroup(string) slog.Handler { return w }
func (w *captureWith) Handle(ctx context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(w.attrs...)
	return w.c.Handle(ctx, r)
}

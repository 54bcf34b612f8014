package api

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestMetricsExposition(t *testing.T) {
	m := NewMetrics()
	m.observeRequest("GET /healthz", 200, 3*time.Millisecond)
	m.observeRequest("GET /healthz", 200, 30*time.Millisecond)
	m.observeRequest(`GET /x"y`, 404, time.Millisecond)
	m.AddTokensGenerated(7)
	m.JobsByState = func(context.Context) (map[string]int, error) {
		return map[string]int{"running": 1, "completed": 4}, nil
	}
	var b strings.Builder
	if err := m.WriteTo(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`attune_http_requests_total{route="GET /healthz",code="200"} 2`,
		`attune_http_requests_total{route="GET /x\"y",code="404"} 1`,
		`attune_http_request_duration_seconds_bucket{route="GET /healthz",le="0.005"} 1`,
		`attune_http_request_duration_seconds_bucket{route="GET /healthz",le="0.05"} 2`,
		`attune_http_request_duration_seconds_bucket{route="GET /healthz",le="+Inf"} 2`,
		`attune_http_request_duration_seconds_count{route="GET /healthz"} 2`,
		`attune_tokens_generated_total 7`,
		`attune_jobs{state="completed"} 4`,
		"# TYPE attune_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q:\n%s", want, out)
		}
	}
}

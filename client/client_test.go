package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewBaseURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v3"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v3"},
		{"https://api.example.org/api/v3", "https://api.example.org/api/v3"},
		{"https://api.example.org/api/v3/", "https://api.example.org/api/v3"},
		{"http://host/prefix", "http://host/prefix"},
	}
	for _, tt := range tests {
		if got := New(tt.in, "k").BaseURL; got != tt.want {
			t.Errorf("New(%q).BaseURL = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorDetail(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
		field  string // Field("document_id")
	}{
		{"string", 404, `{"detail":"alignment not found"}`, "alignment not found (HTTP 404)", ""},
		{"structured", 409, `{"detail":{"message":"document already exists","document_id":"doc_1"}}`,
			"document already exists (document_id: doc_1) (HTTP 409)", "doc_1"},
		{"validation", 422, `{"detail":[{"loc":["body","name"],"msg":"field required","type":"missing"},{"loc":["query","limit"],"msg":"must be at most 100","type":"range"}]}`,
			"body.name: field required; query.limit: must be at most 100 (HTTP 422)", ""},
		{"openai", 400, `{"error":{"message":"model not deployed","type":"invalid_request_error"}}`,
			"model not deployed (HTTP 400)", ""},
		{"both", 404, `{"detail":"not deployed","error":{"message":"other"}}`, "not deployed (HTTP 404)", ""},
		{"html", 502, `<html>bad gateway</html>`, "server answered 502 Bad Gateway (HTTP 502)", ""},
		{"text", 500, "boom\n", "boom (HTTP 500)", ""},
		{"empty", 503, ``, "server answered 503 Service Unavailable (HTTP 503)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := New(srv.URL, "k").Alignment(context.Background(), "alignment_x")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error = %v, want *Error", err)
			}
			if got := e.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
			if got := e.Field("document_id"); got != tt.field {
				t.Errorf("Field(document_id) = %q, want %q", got, tt.field)
			}
			if got := StatusCode(err); got != tt.status {
				t.Errorf("StatusCode = %d, want %d", got, tt.status)
			}
		})
	}
}

// newServer serves handler under the API prefix and checks every request's
// key.
func newServer(t *testing.T, handler http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Authorization"); got != "Bearer key-1" {
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"detail":"bad key %q"}`, got)
			return
		}
		if !strings.HasPrefix(r.URL.Path, APIPrefix) {
			t.Errorf("path %q lacks %s", r.URL.Path, APIPrefix)
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, APIPrefix)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	c := New(srv.URL, "key-1")
	c.PollInterval = time.Millisecond
	return c
}

func TestUploadDocuments(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/documents" {
			t.Errorf("got %s %s", r.Method, r.URL.Path)
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, fh := range r.MultipartForm.File["files"] {
			f, _ := fh.Open()
			b, _ := io.ReadAll(f)
			ids = append(ids, fh.Filename+"="+string(b))
		}
		ids = append(ids, strings.Join(r.MultipartForm.Value["categories"], ","))
		json.NewEncoder(w).Encode(map[string]any{"document_ids": ids})
	})
	got, err := c.UploadDocuments(context.Background(), []File{
		{Name: "a.txt", Body: strings.NewReader("alpha")},
		{Name: "b.md", Body: strings.NewReader("# beta")},
	}, []string{"x", "y"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.txt=alpha", "b.md=# beta", "x,y"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUploadBenchmark(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Fatal(err)
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			t.Fatal(err)
		}
		var qs []QA
		if err := json.NewDecoder(f).Decode(&qs); err != nil {
			t.Fatal(err)
		}
		json.NewEncoder(w).Encode(map[string]any{
			"benchmark_id":   "benchmark_1",
			"benchmark_name": r.FormValue("name") + "|" + strings.Join(r.MultipartForm.Value["document_id"], ","),
			"status":         "READY", "questions": qs, "num_questions": len(qs),
		})
	})
	got, err := c.UploadBenchmark(context.Background(), BenchmarkUpload{
		Name: "elements", DocumentIDs: []string{"doc_1", "doc_2"},
		Questions: []QA{{Question: "Symbol of gold?", Answer: "Au"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.BenchmarkName != "elements|doc_1,doc_2" || got.NumQuestions != 1 || got.Questions[0].Answer != "Au" {
		t.Errorf("got %+v", got)
	}
}

func TestWaitAlignment(t *testing.T) {
	tests := []struct {
		name    string
		last    string
		wantErr string
	}{
		{"ready", `"status":"READY","data":{"status":"READY","model_id":"aligned-1","progress":100}`, ""},
		{"failed", `"status":"FAILED","data":{"status":"FAILED","error":"training: out of memory"}`,
			"alignment alignment_1 failed: training: out of memory"},
		{"stopped", `"status":"STOPPED","data":{"status":"STOPPED"}`, "alignment alignment_1 was stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/alignment-project/status/alignment_1" {
					t.Errorf("path %q", r.URL.Path)
				}
				if calls.Add(1) < 3 {
					fmt.Fprintf(w, `{"status":"PROCESSING","data":{"status":"PROCESSING","progress":%d,"estimated_completion":"2026-01-02T03:04:05","completed_date":null,"gpu_training_completed":null,"performance_metrics":null}}`, calls.Load()*10)
					return
				}
				fmt.Fprintf(w, `{%s}`, tt.last)
			})
			var seen []float64
			st, err := c.WaitAlignment(context.Background(), "alignment_1", func(s *AlignmentStatus) {
				seen = append(seen, s.Data.Progress)
			})
			if gotErr := fmt.Sprint(err); (tt.wantErr == "" && err != nil) || (tt.wantErr != "" && gotErr != tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
			if len(seen) != 3 || seen[0] != 10 || seen[1] != 20 {
				t.Errorf("progress calls %v, want [10 20 …]", seen)
			}
			if tt.name == "ready" && st.Data.ModelID != "aligned-1" {
				t.Errorf("model id %q", st.Data.ModelID)
			}
		})
	}
}

func TestTimeUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{`"2026-01-02T03:04:05Z"`, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{`"2026-01-02T05:04:05+02:00"`, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{`"2026-01-02T03:04:05.123456"`, time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)},
		{`null`, time.Time{}},
		{`""`, time.Time{}},
	}
	for _, tt := range tests {
		var got Time
		if err := json.Unmarshal([]byte(tt.in), &got); err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("%s = %v, want %v", tt.in, got, tt.want)
		}
	}
	var bad Time
	if err := json.Unmarshal([]byte(`"yesterday"`), &bad); err == nil {
		t.Error("\"yesterday\" was accepted")
	}
}

// sse writes events as a server does, flushing each.
func sse(events ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req ChatRequest
		json.NewDecoder(r.Body).Decode(&req)
		if !req.Stream {
			w.WriteHeader(400)
			io.WriteString(w, `{"detail":"stream not set"}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, e := range events {
			io.WriteString(w, e)
			w.(http.Flusher).Flush()
		}
	}
}

func TestChatStream(t *testing.T) {
	chunk := func(content, finish string) string {
		fr := "null"
		if finish != "" {
			fr = `"` + finish + `"`
		}
		return fmt.Sprintf("data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":%s}]}\n\n", content, fr)
	}
	tests := []struct {
		name    string
		events  []string
		want    string
		wantErr string
	}{
		{"whole", []string{
			": keep-alive\n\n",
			chunk("Au", ""), chunk(" is", ""), chunk(" gold", ""),
			"data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\r\n\r\n",
			"data: {\"object\": \"timing\", \"timing\": {\"ttft_seconds\": 0.5, \"throughput_tokens_per_second\": 12, \"total_seconds\": 0.75}}\n\n",
			"data: [DONE]\n\n",
		}, "Au is gold", ""},
		{"no done", []string{chunk("A", "")}, "A", "client: stream ended without [DONE]"},
		{"error event", []string{chunk("A", ""), "data: {\"detail\":\"generation failed: out of memory\"}\n\n"},
			"A", "generation failed: out of memory (HTTP 500)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newServer(t, sse(tt.events...))
			s, err := c.ChatStream(context.Background(), ChatRequest{Model: "m", Messages: []Message{{Role: "user", Content: "hi"}}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var text strings.Builder
			for s.Next() {
				ch := s.Chunk()
				text.WriteString(ch.Text())
			}
			if got := text.String(); got != tt.want {
				t.Errorf("text %q, want %q", got, tt.want)
			}
			if got := fmt.Sprint(s.Err()); (tt.wantErr == "" && s.Err() != nil) || (tt.wantErr != "" && got != tt.wantErr) {
				t.Errorf("Err() = %v, want %q", s.Err(), tt.wantErr)
			}
			if tt.name != "whole" {
				return
			}
			if u := s.Usage(); u == nil || u.TotalTokens != 8 {
				t.Errorf("usage %+v", u)
			}
			if tm := s.Timing(); tm == nil || tm.TotalSeconds != 0.75 || tm.TTFTSeconds != 0.5 {
				t.Errorf("timing %+v", tm)
			}
			if s.FinishReason() != "stop" {
				t.Errorf("finish %q", s.FinishReason())
			}
		})
	}
}

func TestChatPlain(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/inference/chat/completions" {
			t.Errorf("path %q", r.URL.Path)
		}
		io.WriteString(w, `{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Au"},"finish_reason":"stop"}],"usage":{"total_tokens":3},"timing":{"total_seconds":0.1},"confidence":0.9}`)
	})
	got, err := c.Chat(context.Background(), ChatRequest{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Text() != "Au" || *got.Confidence != 0.9 || got.Timing.TotalSeconds != 0.1 {
		t.Errorf("got %+v", got)
	}
}

func FuzzEventReader(f *testing.F) {
	f.Add("data: a\n\ndata: b\ndata: c\n\n")
	f.Add(": x\r\nevent: y\r\ndata:z\r\n\r\ndata")
	f.Add("data: [DONE]")
	f.Fuzz(func(t *testing.T, stream string) {
		r := NewEventReader(strings.NewReader(stream))
		for i := 0; i <= len(stream); i++ {
			if _, err := r.Next(); err != nil {
				if err != io.EOF {
					t.Fatalf("error %v", err)
				}
				return
			}
		}
		t.Fatalf("more events than bytes in %q", stream)
	})
}

// TestEventReaderRoundTrip writes events and reads the same data back.
func TestEventReaderRoundTrip(t *testing.T) {
	events := []string{"one", "two\nlines", "", "{\"a\": 1}"}
	var b strings.Builder
	for _, e := range events {
		for _, line := range strings.Split(e, "\n") {
			fmt.Fprintf(&b, "data: %s\n", line)
		}
		b.WriteString("\n")
	}
	r := NewEventReader(strings.NewReader(b.String()))
	for _, want := range events {
		got, err := r.Next()
		if err != nil || got != want {
			t.Fatalf("Next() = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the last event: %v, want EOF", err)
	}
}

func TestMetricsUnmarshal(t *testing.T) {
	var m Metrics
	if err := json.Unmarshal([]byte(`{"accuracy":0.5,"domain_violations":3,"by_kind":{"x":1},"note":"n","missing":null}`), &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["accuracy"] != 0.5 || m["domain_violations"] != 3 {
		t.Errorf("got %v, want accuracy 0.5 and domain_violations 3 only", m)
	}
}

// TestUploadRefusedEarly checks that an upload the server refuses before
// reading its body returns the server's error and does not hang.
func TestUploadRefusedEarly(t *testing.T) {
	c := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, `{"detail":"file is over the 100 MB limit"}`)
	})
	big := strings.NewReader(strings.Repeat("x", 2<<20))
	_, err := c.UploadDocuments(context.Background(), []File{{Name: "big.txt", Body: big}}, nil)
	if got := StatusCode(err); got != 413 {
		t.Errorf("error %v, want HTTP 413", err)
	}
}

// FuzzErrorAnswer feeds arbitrary error bodies to the decoder: it must not
// panic, and the error must read as one line naming the status.
func FuzzErrorAnswer(f *testing.F) {
	f.Add(`{"detail":"a\nb"}`)
	f.Add(`{"detail":{"message":"m","document_id":"doc_1"}}`)
	f.Add(`{"detail":[{"loc":["body",0],"msg":"bad"}]}`)
	f.Add(`{"error":{"message":"x"}}`)
	f.Add(`<html></html>`)
	f.Fuzz(func(t *testing.T, body string) {
		resp := &http.Response{StatusCode: 422, Status: "422 Unprocessable Entity", Body: io.NopCloser(strings.NewReader(body))}
		msg := decodeError(resp).Error()
		if strings.ContainsAny(msg, "\n\r") || !strings.HasSuffix(msg, "(HTTP 422)") {
			t.Fatalf("error %q is not one line ending with the status", msg)
		}
	})
}

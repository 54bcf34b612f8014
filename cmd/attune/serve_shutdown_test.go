package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"attune/api"
	"attune/runtime"
)

// TestServeGracefulShutdown stops the server while a streaming chat is in
// flight: the stream must still run to [DONE], and the server must then
// stop cleanly and refuse new connections.
func TestServeGracefulShutdown(t *testing.T) {
	ts := startServer(t, api.Config{})
	body, _ := json.Marshal(map[string]any{
		"model": serveBase, "messages": []any{map[string]any{"role": "user", "content": "Count."}},
		"max_tokens": 60, "temperature": 0, "stream": true,
	})
	req, _ := http.NewRequest("POST", ts.url+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ts.alice)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("stream answered %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "data: ") {
		t.Fatalf("no first frame: %q %v", sc.Text(), sc.Err())
	}

	// The first frame is here: the request is in flight. Stop, and wait
	// until the server refuses new connections before reading on, so
	// that the rest of the stream is known to come during the shutdown.
	stopped := make(chan error, 1)
	go func() { stopped <- ts.stop() }()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := http.Get(ts.url + "/healthz")
		if err != nil {
			break
		}
		r.Body.Close()
		<-tick.C
	}

	var last string
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			last = data
		}
	}
	if last != "[DONE]" {
		t.Fatalf("the stream in flight ended with %q, not [DONE] (%v)", last, sc.Err())
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestServeBusy fills the one generation slot of a server that lets no
// request wait: the next request is refused at once with 503, in both
// error shapes and with Retry-After.
func TestServeBusy(t *testing.T) {
	ts := startServer(t, api.Config{}, runtime.Config{Slots: 1, QueueLimit: -1})
	body, _ := json.Marshal(map[string]any{
		"model": serveBase, "messages": []any{map[string]any{"role": "user", "content": "Count."}},
		"max_tokens": 40, "temperature": 0, "stream": true,
	})
	req, _ := http.NewRequest("POST", ts.url+"/v1/chat/completions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+ts.alice)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		t.Fatalf("no first frame: %v", sc.Err())
	}

	// The stream holds the slot until it ends.
	a := ts.call("POST", "/v1/chat/completions", ts.bob, map[string]any{
		"model": serveBase, "messages": []any{map[string]any{"role": "user", "content": "Hi"}}, "max_tokens": 2,
	}).want(t, 503, "a request while the only slot is busy")
	if a.header.Get("Retry-After") == "" || a.str("detail") == "" || a.str("error.type") != "server_error" {
		t.Errorf("busy answer: %v %s", a.header, a.raw)
	}
}

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

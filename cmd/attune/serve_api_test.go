package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"attune/api"
)

// TestServeFailurePaths walks the mistakes a client makes against a
// running server, and the answers it must get.
func TestServeFailurePaths(t *testing.T) {
	ts := startServer(t, api.Config{UploadFileLimit: 4096})

	t.Run("auth", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/metrics", "/openapi.json"} {
			ts.call("GET", path, "", nil).want(t, 200, path+" without a key")
		}
		a := ts.call("GET", "/api/v3/documents", "", nil).want(t, 401, "no key")
		if a.str("detail") == "" || a.header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("401 without detail or WWW-Authenticate: %s %v", a.raw, a.header)
		}
		ts.call("GET", "/api/v3/documents", "atk_wrong", nil).want(t, 401, "wrong key")
		a = ts.call("POST", "/v1/chat/completions", "atk_wrong", `{}`).want(t, 401, "wrong key on /v1")
		if a.str("error.type") != "authentication_error" || a.str("detail") == "" {
			t.Errorf("inference 401 lacks one of the two error shapes: %s", a.raw)
		}
		ts.call("GET", "/api/v3/api-keys", ts.alice, nil).want(t, 401, "user key on an admin route")
	})

	t.Run("request id", func(t *testing.T) {
		req, _ := http.NewRequest("GET", ts.url+"/healthz", nil)
		req.Header.Set("X-Request-ID", "trace-42")
		if got := ts.do(req, "").header.Get("X-Request-ID"); got != "trace-42" {
			t.Errorf("X-Request-ID = %q, want the client's trace-42", got)
		}
		if got := ts.call("GET", "/healthz", "", nil).header.Get("X-Request-ID"); len(got) != 32 {
			t.Errorf("generated X-Request-ID = %q, want 32 hex digits", got)
		}
	})

	t.Run("keys", func(t *testing.T) {
		a := ts.call("POST", "/api/v3/api-keys", ts.admin, map[string]any{"email": "carol@example.com", "name": "ci"}).want(t, 200, "create key")
		key, id := a.str("key"), a.str("id")
		ts.call("GET", "/api/v3/documents", key, nil).want(t, 200, "new key")
		list := ts.call("GET", "/api/v3/api-keys?email=carol@example.com", ts.admin, nil).want(t, 200, "list keys")
		if n, _ := list.get("total").(float64); n != 1 || strings.Contains(string(list.raw), key) {
			t.Errorf("key list: %s", list.raw)
		}
		ts.call("DELETE", "/api/v3/api-keys/"+id, ts.admin, nil).want(t, 200, "revoke")
		ts.call("GET", "/api/v3/documents", key, nil).want(t, 401, "revoked key")
	})

	t.Run("validation", func(t *testing.T) {
		a := ts.call("POST", "/api/v3/alignment-project/create", ts.alice, `{"name": "x",`).want(t, 400, "malformed JSON")
		if !strings.Contains(a.str("detail"), "malformed JSON") {
			t.Errorf("malformed JSON detail: %s", a.raw)
		}
		a = ts.call("POST", "/api/v3/alignment-project/create", ts.alice, `{"name":"x","base_model":"qwen2-tiny","document_ids":["doc_1"],"colour":"red"}`).want(t, 422, "unknown field")
		if !strings.Contains(string(a.raw), `"loc":["body","colour"]`) {
			t.Errorf("unknown field not named: %s", a.raw)
		}
		a = ts.call("POST", "/api/v3/alignment-project/create", ts.alice, `{"name":"x","alignment_name":"y","base_model":"qwen2-tiny","document_ids":["d"]}`).want(t, 422, "two spellings that differ")
		a = ts.call("POST", "/api/v3/alignment-project/create", ts.alice, `{"name":"x","base_model":"qwen2-tiny","document_ids":["d"],"hyperparameters":{"epochs":2,"warmup":3}}`).want(t, 422, "unknown hyperparameter")
		if !strings.Contains(string(a.raw), "warmup") {
			t.Errorf("unknown hyperparameter not named: %s", a.raw)
		}
		a = ts.call("POST", "/api/v3/alignment-project/create", ts.alice, `{"name":"x","base_model":"qwen2-tiny","document_ids":["d"],"hyperparameters":{"epochs":0.5}}`).want(t, 422, "epochs of the wrong type")
		ts.call("POST", "/api/v3/alignment-project/create", ts.alice, `{"name":"x","base_model":"qwen2-tiny","document_ids":["d"],"hyperparameters":{"lora_rank":100000}}`).want(t, 422, "rank out of range")
		ts.call("GET", "/api/v3/documents?limit=101", ts.alice, nil).want(t, 422, "limit over 100")
		a = ts.call("GET", "/api/v3/documents?limit=100", ts.alice, nil).want(t, 200, "limit 100")
		if a.get("limit") != 100.0 || a.get("offset") != 0.0 || a.get("total") == nil {
			t.Errorf("page fields: %s", a.raw)
		}
		ts.call("POST", "/api/v3/alignment-project/create", ts.alice, `{"name":"x","base_model":"no-such-model","document_ids":["d"]}`).want(t, 400, "unknown base model")
		big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
		ts.call("POST", "/api/v3/alignment-project/create", ts.alice, big).want(t, 413, "oversized JSON body")
		a = ts.call("GET", "/api/v3/no/such/route", ts.alice, nil).want(t, 404, "unknown route")
		if a.str("detail") == "" {
			t.Errorf("unknown route without a JSON detail: %s", a.raw)
		}
	})

	t.Run("uploads", func(t *testing.T) {
		a := ts.upload(ts.alice, map[string]string{"tool.exe": "MZ..."}).want(t, 422, "unsupported type")
		if !strings.Contains(string(a.raw), "unsupported file type") {
			t.Errorf("unsupported upload detail: %s", a.raw)
		}
		ts.upload(ts.alice, map[string]string{"huge.txt": strings.Repeat("a", 5000)}).want(t, 413, "file over the limit")
		a = ts.upload(ts.alice, map[string]string{"good.txt": "fine", "broken.pdf": "this is not a PDF"}).want(t, 400, "unreadable file")
		if !strings.Contains(a.str("detail"), "broken.pdf") {
			t.Errorf("unreadable file detail does not name it: %s", a.raw)
		}
		if l := ts.call("GET", "/api/v3/documents", ts.alice, nil); l.get("total") != 0.0 {
			t.Errorf("a refused upload left documents behind: %s", l.raw)
		}
		a = ts.upload(ts.alice, map[string]string{"notes.md": "# Notes\nHydrogen is the lightest element."}, "chemistry").want(t, 200, "upload")
		tasks, _ := a.get("document_ids").([]any)
		if len(tasks) != 1 {
			t.Fatalf("upload answer: %s", a.raw)
		}
		task := tasks[0].(string)
		st := ts.call("GET", "/api/v3/documents/"+task, ts.alice, nil).want(t, 200, "upload status")
		docID := st.str("document_id")
		if !strings.HasPrefix(docID, "doc_") {
			t.Errorf("upload status: %s", st.raw)
		}
		dup := ts.upload(ts.alice, map[string]string{"notes.md": "other bytes"}).want(t, 409, "duplicate file name")
		if dup.str("detail.document_id") != docID || dup.str("detail.message") == "" {
			t.Errorf("duplicate answer %s, want detail naming %s", dup.raw, docID)
		}
		// Bob may use the same name; and alice's ids are unknown to him.
		ts.upload(ts.bob, map[string]string{"notes.md": "bob's notes"}).want(t, 200, "same name, other user")
		mine := ts.call("GET", "/api/v3/documents/"+task, ts.bob, nil).want(t, 404, "another user's task")
		unknown := ts.call("GET", "/api/v3/documents/01JNOSUCHTASK0000000000000", ts.bob, nil).want(t, 404, "unknown task")
		if mine.str("detail") == "" || unknown.str("detail") == "" {
			t.Errorf("404 without detail: %s / %s", mine.raw, unknown.raw)
		}
		ts.call("DELETE", "/api/v3/documents/"+docID, ts.bob, nil).want(t, 404, "deleting another user's document")
	})

	t.Run("deploy and serve", func(t *testing.T) {
		alignID, modelID := ts.readyModel("alice@example.com")
		chat := map[string]any{"model": modelID, "messages": []any{map[string]any{"role": "user", "content": "Hi"}}, "max_tokens": 4, "temperature": 0}

		a := ts.call("POST", "/api/v3/inference/chat/completions", ts.alice, chat).want(t, 404, "chat before deploy")
		if !strings.Contains(a.str("detail"), "not deployed") || a.str("error.message") == "" {
			t.Errorf("undeployed answer: %s", a.raw)
		}
		ts.call("POST", "/api/v3/models/deploy-model/"+modelID, ts.bob, nil).want(t, 404, "deploying another user's model")
		ts.call("POST", "/api/v3/models/deploy-model/"+modelID, ts.alice, nil).want(t, 200, "deploy")
		a = ts.call("POST", "/api/v3/models/deploy-model/"+modelID, ts.alice, nil).want(t, 409, "deploying twice")
		if !strings.HasPrefix(a.str("detail"), "Model cannot be redeployed. Current status: ") {
			t.Errorf("redeploy detail: %s", a.raw)
		}
		ts.poll("/api/v3/models/deploy-model/"+modelID+"/status", ts.alice, 30*time.Second, func(a answer) bool {
			return a.str("status") == "COMPLETED" || a.str("status") == "FAILED"
		})
		st := ts.call("GET", "/api/v3/models/deploy-model/"+modelID+"/status", ts.alice, nil)
		if st.str("status") != "COMPLETED" || st.str("result.deployment_status") != "DEPLOYED" {
			t.Fatalf("deploy status: %s", st.raw)
		}
		ts.call("GET", "/api/v3/models/"+modelID+"/deployment/status", ts.alice, nil).want(t, 200, "plural deploy status")

		a = ts.call("POST", "/api/v3/inference/chat/completions", ts.alice, chat).want(t, 200, "chat")
		checkCompletion(t, a, "chat.completion")
		text := a.get("choices").([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)

		chat["stream"] = true
		streamed := streamChat(t, ts, "/v1/chat/completions", ts.alice, chat)
		if streamed != text {
			t.Errorf("greedy stream %q differs from the plain answer %q", streamed, text)
		}
		ts.call("POST", "/v1/chat/completions", ts.bob, chat).want(t, 404, "chat with another user's model")

		models := ts.call("GET", "/v1/models", ts.alice, nil).want(t, 200, "/v1/models")
		if !strings.Contains(string(models.raw), modelID) || !strings.Contains(string(models.raw), serveBase) {
			t.Errorf("/v1/models lacks the base or the deployed model: %s", models.raw)
		}
		other := ts.call("GET", "/api/v3/alignment-project/status/"+alignID, ts.bob, nil).want(t, 404, "another user's alignment")
		unknown := ts.call("GET", "/api/v3/alignment-project/status/alignment_01JNOSUCHALIGNMENT000000000", ts.bob, nil).want(t, 404, "an unknown alignment")
		if strings.ReplaceAll(string(other.raw), alignID, "ID") != strings.ReplaceAll(string(unknown.raw), "alignment_01JNOSUCHALIGNMENT000000000", "ID") {
			t.Errorf("another user's id answers %s, an unknown one %s: a caller can tell them apart", other.raw, unknown.raw)
		}
		status := ts.call("GET", "/api/v3/alignment-project/status/"+alignID, ts.alice, nil).want(t, 200, "alignment status")
		if status.str("status") != "DEPLOYED" || status.str("data.model_id") != modelID {
			t.Errorf("alignment status after deploy: %s", status.raw)
		}

		ts.call("DELETE", "/api/v3/alignment-project/"+alignID, ts.alice, nil).want(t, 409, "deleting a deployed alignment")
		ts.call("POST", "/api/v3/alignment-project/"+alignID+"/stop", ts.alice, nil).want(t, 409, "stopping a finished alignment")

		a = ts.call("DELETE", "/api/v3/models/undeploy-model/"+modelID, ts.alice, nil).want(t, 200, "undeploy")
		if strings.TrimSpace(string(a.raw)) != `"`+modelID+`"` {
			t.Errorf("undeploy answer %s, want the model id as a JSON string", a.raw)
		}
		ts.poll("/api/v3/models/undeploy-model/"+modelID+"/status", ts.alice, 30*time.Second, func(a answer) bool {
			return a.str("status") == "COMPLETED" || a.str("status") == "FAILED"
		})
		ts.call("POST", "/v1/chat/completions", ts.alice, map[string]any{"model": modelID, "messages": []any{map[string]any{"role": "user", "content": "Hi"}}}).want(t, 404, "chat after undeploy")
		ts.call("DELETE", "/api/v3/models/undeploy-model/"+modelID, ts.alice, nil).want(t, 400, "undeploying an undeployed model")
	})

	t.Run("base model inference", func(t *testing.T) {
		a := ts.call("POST", "/v1/completions", ts.bob, map[string]any{"model": serveBase, "prompt": []string{"Hydrogen is", "Helium is"}, "max_tokens": 3, "temperature": 0}).want(t, 200, "completions")
		checkCompletion(t, a, "text_completion")
		if n := len(a.get("choices").([]any)); n != 2 {
			t.Errorf("%d choices for 2 prompts", n)
		}
		e := ts.call("POST", "/v1/embeddings", ts.bob, map[string]any{"model": serveBase, "input": "hydrogen"}).want(t, 200, "embeddings")
		if v := e.get("data").([]any)[0].(map[string]any)["embedding"].([]any); len(v) != 32 {
			t.Errorf("embedding of %d values, want 32", len(v))
		}
		two := map[string]any{"model": serveBase, "messages": []any{map[string]any{"role": "user", "content": [](map[string]any){{"type": "text", "text": "Hi"}}}},
			"n": 2, "max_tokens": 3, "temperature": 1, "seed": 5}
		a = ts.call("POST", "/api/v3/inference/chat/completions", ts.bob, two).want(t, 200, "two sampled answers")
		again := ts.call("POST", "/api/v3/inference/chat/completions", ts.bob, two).want(t, 200, "the same, again")
		if n := len(a.get("choices").([]any)); n != 2 {
			t.Errorf("%d choices for n=2", n)
		}
		if got, want := string(mustJSON(again.get("choices"))), string(mustJSON(a.get("choices"))); got != want {
			t.Errorf("the same seed gave %s then %s", want, got)
		}
		ts.call("POST", "/v1/chat/completions", ts.bob, map[string]any{"model": serveBase, "messages": []any{}}).want(t, 422, "no messages")
		ts.call("POST", "/v1/chat/completions", ts.bob, map[string]any{"model": serveBase, "messages": []any{map[string]any{"role": "user", "content": "x"}}, "temperature": 3}).want(t, 422, "temperature out of range")
		ts.call("POST", "/v1/chat/completions", ts.bob, map[string]any{"model": "nope", "messages": []any{map[string]any{"role": "user", "content": "x"}}}).want(t, 404, "unknown model")
	})

	t.Run("rate limit", func(t *testing.T) {
		a := ts.call("POST", "/api/v3/api-keys", ts.admin, map[string]any{"email": "dave@example.com", "rate_limit": 1}).want(t, 200, "create a limited key")
		key := a.str("key")
		ts.call("GET", "/api/v3/documents", key, nil).want(t, 200, "first request")
		a = ts.call("GET", "/api/v3/documents", key, nil).want(t, 429, "second request within the second")
		if a.header.Get("Retry-After") != "1" {
			t.Errorf("Retry-After = %q, want 1", a.header.Get("Retry-After"))
		}
	})

	t.Run("metrics", func(t *testing.T) {
		a := ts.call("GET", "/metrics", "", nil).want(t, 200, "metrics")
		for _, want := range []string{
			`attune_http_requests_total{route="POST /api/v3/documents",code="413"} 1`,
			"attune_tokens_generated_total ",
			"attune_jobs{state=",
		} {
			if !bytes.Contains(a.raw, []byte(want)) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
}

// checkCompletion checks the fields every non-streaming answer carries.
func checkCompletion(t *testing.T, a answer, object string) {
	t.Helper()
	if a.str("object") != object {
		t.Errorf("object = %q, want %q", a.str("object"), object)
	}
	u, _ := a.get("usage").(map[string]any)
	if u == nil || u["completion_tokens"].(float64) < 1 || u["total_tokens"].(float64) != u["prompt_tokens"].(float64)+u["completion_tokens"].(float64) {
		t.Errorf("usage: %v", a.get("usage"))
	}
	tm, _ := a.get("timing").(map[string]any)
	if tm == nil || tm["total_seconds"].(float64) <= 0 || tm["ttft_seconds"].(float64) <= 0 {
		t.Errorf("timing: %v", a.get("timing"))
	}
	if c, ok := a.get("confidence").(float64); !ok || c <= 0 || c > 1 {
		t.Errorf("confidence: %v", a.get("confidence"))
	}
}

// streamChat sends a streaming chat request, checks the frames' order and
// shapes, and returns the streamed text.
func streamChat(t *testing.T, ts *testServer, path, key string, body map[string]any) string {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", ts.url+path, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream answered %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	frames := sseFrames(t, resp.Body)
	n := len(frames)
	if n < 4 || frames[n-1] != "[DONE]" {
		t.Fatalf("stream frames %q: want role, content..., last chunk, timing, [DONE]", frames)
	}
	var text strings.Builder
	for i, f := range frames[:n-1] {
		var c map[string]any
		if err := json.Unmarshal([]byte(f), &c); err != nil {
			t.Fatalf("frame %d %q: %v", i, f, err)
		}
		switch {
		case i == n-2:
			tm, _ := c["timing"].(map[string]any)
			if c["object"] != "timing" || tm == nil || tm["total_seconds"].(float64) <= 0 {
				t.Errorf("frame before [DONE] is not the timing frame: %s", f)
			}
		case c["object"] != "chat.completion.chunk":
			t.Errorf("frame %d object %v", i, c["object"])
		case i == n-3:
			choice := c["choices"].([]any)[0].(map[string]any)
			if choice["finish_reason"] == nil || c["usage"] == nil {
				t.Errorf("last chunk lacks finish_reason or usage: %s", f)
			}
		default:
			choice := c["choices"].([]any)[0].(map[string]any)
			delta := choice["delta"].(map[string]any)
			if i == 0 && delta["role"] != "assistant" {
				t.Errorf("first chunk's delta has no assistant role: %s", f)
			}
			if s, ok := delta["content"].(string); ok {
				text.WriteString(s)
			}
		}
	}
	return text.String()
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

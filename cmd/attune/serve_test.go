package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"attune"
	"attune/api"
	"attune/engine/lora"
	"attune/engine/qwen2"
	"attune/runtime"
	"attune/store/sqlite"
)

// serveBase is the tiny reference Qwen2 model; tests register it as a
// base model.
const serveBase = "qwen2-tiny"

// testServer is a running `attune serve` on a free loopback port with a
// fresh data directory, and the store beside it for setting up records a
// client cannot make directly.
type testServer struct {
	t     *testing.T
	url   string
	dir   string
	st    *sqlite.Store
	admin string // admin key
	alice string // user keys
	bob   string
	users map[string]attune.User
	stop  func() error
}

// startServer runs the server of a new data directory with the tiny model
// imported and keys for an admin, alice and bob. rtCfg, when given,
// replaces the runtime's test settings.
func startServer(t *testing.T, apiCfg api.Config, rtCfg ...runtime.Config) *testServer {
	t.Helper()
	ctx := context.Background()
	ts := &testServer{t: t, dir: t.TempDir(), users: map[string]attune.User{}}
	st, err := openStore(ctx, ts.dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts.st = st
	t.Cleanup(func() { st.Close() })
	for _, u := range []struct {
		email string
		key   *string
		scope attune.Scope
	}{{"admin@example.com", &ts.admin, attune.ScopeAdmin}, {"alice@example.com", &ts.alice, attune.ScopeUser}, {"bob@example.com", &ts.bob, attune.ScopeUser}} {
		key, k, err := attune.IssueAPIKey(ctx, st, u.email, u.scope, "test")
		if err != nil {
			t.Fatal(err)
		}
		*u.key = key
		ts.users[u.email] = attune.User{ID: k.UserID, Email: u.email}
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "testdata", "reference", "qwen2-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	err = st.CreateBaseModel(ctx, &attune.BaseModel{
		ID: serveBase, Description: "tiny random Qwen2 for tests", Path: dir,
		Architecture: "qwen2", Parameters: 5_000_000, ContextLength: 512, AlignmentReady: true,
	})
	if err != nil {
		t.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	rc := runtime.Config{Slots: 2}
	if len(rtCfg) > 0 {
		rc = rtCfg[0]
	}
	cfg := serveConfig{
		Addr: "127.0.0.1:0", DataDir: ts.dir, API: apiCfg, ShutdownGrace: 20 * time.Second,
		Runtime: rc, EvalMaxTokens: 12,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	go func() { done <- runServer(runCtx, cfg, func(addr string) { ready <- addr }) }()
	select {
	case addr := <-ready:
		ts.url = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	stopped := false
	ts.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() {
		if err := ts.stop(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return ts
}

// testWriter sends the server's warnings to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// answer is an HTTP answer with its JSON body decoded.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// call sends a JSON request (body may be nil, a string of raw JSON, or a
// value to encode) with the given key ("" for none).
func (ts *testServer) call(method, path, key string, body any) answer {
	ts.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, ts.url+path, r)
	if err != nil {
		ts.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return ts.do(req, key)
}

func (ts *testServer) do(req *http.Request, key string) answer {
	ts.t.Helper()
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

// upload posts files (name → content) to /documents.
func (ts *testServer) upload(key string, files map[string]string, categories ...string) answer {
	ts.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, content := range files {
		w, err := mw.CreateFormFile("files", name)
		if err != nil {
			ts.t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	for _, c := range categories {
		mw.WriteField("categories", c)
	}
	mw.Close()
	req, err := http.NewRequest("POST", ts.url+"/api/v3/documents", &buf)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return ts.do(req, key)
}

// want fails the test unless a has the wanted status.
func (a answer) want(t *testing.T, status int, what string) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, a.status, status, a.raw)
	}
	return a
}

// str returns a string field of the body by a dotted path.
func (a answer) str(path string) string {
	v, _ := a.get(path).(string)
	return v
}

func (a answer) get(path string) any {
	var v any = a.body
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// poll asks for path every 20 ms until done reports true, for at most
// limit. Polling a status route is how NuGen's clients wait.
func (ts *testServer) poll(path, key string, limit time.Duration, done func(answer) bool) answer {
	ts.t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		a := ts.call("GET", path, key, nil)
		if done(a) {
			return a
		}
		if time.Now().After(deadline) {
			ts.t.Fatalf("GET %s did not finish in %v; last answer %d %s", path, limit, a.status, a.raw)
		}
		<-tick.C
	}
}

// readyModel makes, through the store, a READY document, alignment and
// aligned model with a saved adapter for the user, as a finished training
// run leaves them, so that deploy and inference can be tested without
// training.
func (ts *testServer) readyModel(email string) (alignmentID, modelID string) {
	t := ts.t
	t.Helper()
	ctx := context.Background()
	owner := ts.users[email].ID
	doc := attune.Document{
		ID: attune.NewID(attune.PrefixDocument), OwnerID: owner, Filename: attune.NewID("") + ".txt",
		Type: "txt", Size: 5, SHA256: strings.Repeat("ab", 32), Status: attune.StatusProcessing,
	}
	task := attune.UploadTask{ID: attune.NewID(""), OwnerID: owner, Filename: doc.Filename, DocumentID: doc.ID, Status: attune.StatusProcessing}
	must(t, ts.st.CreateUpload(ctx, &task, &doc))
	_, err := ts.st.UpdateDocument(ctx, owner, doc.ID, func(d *attune.Document) error {
		d.Status = attune.StatusReady
		return nil
	})
	must(t, err)

	a := attune.Alignment{
		ID: attune.NewID(attune.PrefixAlignment), OwnerID: owner, Name: "ready", BaseModel: serveBase,
		DocumentIDs: []string{doc.ID}, ModelID: attune.NewID(attune.PrefixModel),
		Hyperparameters: attune.DefaultHyperparameters, Status: attune.AlignmentQueued, Stage: attune.StageQueued,
	}
	m := attune.AlignedModel{ID: a.ModelID, OwnerID: owner, AlignmentID: a.ID, Name: a.Name, BaseModel: serveBase,
		Status: attune.ModelTraining, DeploymentStatus: attune.Undeployed}
	must(t, ts.st.CreateAlignment(ctx, &a, &m))

	adapterDir := filepath.Join(ts.dir, "work", "test-adapters", m.ID)
	mc, err := qwen2.LoadConfig(filepath.Join("..", "..", "testdata", "reference", "qwen2-tiny"))
	must(t, err)
	ad, err := lora.New(lora.Config{Rank: 4, Alpha: 8, BaseModel: serveBase}, mc, 7)
	must(t, err)
	must(t, ad.Save(adapterDir))

	done := true
	now := time.Now()
	_, err = ts.st.UpdateAlignment(ctx, owner, a.ID, func(a *attune.Alignment) error {
		a.Status, a.Stage, a.Progress = attune.AlignmentReady, attune.StageDone, 100
		a.TrainingCompleted, a.StartedAt, a.CompletedAt = &done, &now, &now
		return nil
	})
	must(t, err)
	_, err = ts.st.UpdateAlignedModel(ctx, owner, m.ID, func(m *attune.AlignedModel) error {
		m.Status, m.AdapterPath = attune.ModelReady, adapterDir
		return nil
	})
	must(t, err)
	return a.ID, m.ID
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sseFrames reads a server-sent event stream's data frames.
func sseFrames(t *testing.T, r io.Reader) []string {
	t.Helper()
	var frames []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			frames = append(frames, data)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return frames
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"attune"
)

// e2e is a real attune server on a loopback port with a fresh data
// directory, the tiny reference model and a user's key, for running the
// client commands against.
type e2e struct {
	t   *testing.T
	url string
	key string
	dir string
}

const tinyModelDir = "../../testdata/reference/qwen2-tiny"

func newE2E(t *testing.T) *e2e {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	abs, _ := filepath.Abs(tinyModelDir)
	if _, err := importModel(ctx, dir, abs, "tiny", "the tiny reference model", true); err != nil {
		t.Fatal(err)
	}
	s, err := openStore(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, _, err := attune.IssueAPIKey(ctx, s, "cli@example.com", attune.ScopeUser, "e2e")
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	url, stop, err := startDemoServer(ctx, dir, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return &e2e{t: t, url: url, key: key, dir: dir}
}

// run runs one command with the server's URL and key in the environment
// and returns its standard output, failing the test when it fails.
func (e *e2e) run(cmd func(context.Context, []string, stdio) error, stdin string, args ...string) string {
	e.t.Helper()
	out, errw, err := e.try(cmd, stdin, args...)
	if err != nil {
		e.t.Fatalf("%v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, errw)
	}
	return out
}

// try runs one command and returns its output and error.
func (e *e2e) try(cmd func(context.Context, []string, stdio) error, stdin string, args ...string) (string, string, error) {
	io, out, errw := testStdio(map[string]string{"ATTUNE_URL": e.url, "ATTUNE_KEY": e.key}, stdin)
	err := cmd(context.Background(), args, io)
	return out.String(), errw.String(), err
}

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestClientCommands walks NuGen's workflow with the client commands
// against a real server: upload, benchmark, align, deploy, chat, evaluate.
func TestClientCommands(t *testing.T) {
	e := newE2E(t)
	docs := []string{
		"../../testdata/corpora/dict-elements/documents/079-gold.txt",
		"../../testdata/corpora/dict-elements/documents/047-silver.txt",
	}

	// Documents: upload, list, and a duplicate refused with the server's
	// detail in one line.
	var uploaded []uploadResult
	if err := json.Unmarshal([]byte(e.run(docsUpload, "", append(docs, "--json")...)), &uploaded); err != nil {
		t.Fatal(err)
	}
	if len(uploaded) != 2 || uploaded[0].Status != "READY" || !strings.HasPrefix(uploaded[0].DocumentID, "doc_") {
		t.Fatalf("uploaded %+v", uploaded)
	}
	docIDs := uploaded[0].DocumentID + "," + uploaded[1].DocumentID
	contains(t, "docs list", e.run(docsList, ""), "079-gold.txt", "047-silver.txt", "READY")
	_, _, err := e.try(docsUpload, "", docs[0])
	if err == nil || !strings.Contains(err.Error(), "HTTP 409") || strings.Contains(err.Error(), "\n") {
		t.Errorf("duplicate upload: error %v, want one line with HTTP 409", err)
	}

	// Benchmark: upload a file of questions, show it.
	bench := filepath.Join(t.TempDir(), "gold.json")
	os.WriteFile(bench, []byte(`[{"question":"What is the chemical symbol for gold?","answer":"Au"},
		{"question":"What is the chemical symbol for silver?","answer":"Ag"}]`), 0o644)
	var b struct {
		BenchmarkID string `json:"benchmark_id"`
	}
	json.Unmarshal([]byte(e.run(benchmarkUpload, "", bench, "--docs", docIDs, "--json")), &b)
	if !strings.HasPrefix(b.BenchmarkID, "benchmark_") {
		t.Fatalf("benchmark id %q", b.BenchmarkID)
	}
	contains(t, "benchmark show", e.run(benchmarkShow, "", b.BenchmarkID), "symbol for gold", "Au", "2 questions")

	// Alignment: create and follow to the end, then status and list.
	out := e.run(alignCreate, "", "--name", "e2e", "--base-model", "tiny", "--docs", docIDs,
		"--benchmark", b.BenchmarkID, "--epochs", "6", "--max-seq-len", "64", "--wait") // long enough for polls every 0.5 s to see training
	// The bar shows the step of whichever status poll it got: any step.
	if !regexp.MustCompile(`step [1-9][0-9]*/[1-9][0-9]*`).MatchString(out) {
		t.Errorf("align create --wait shows no training step:\n%s", out)
	}
	contains(t, "align create --wait", out, "alignment alignment_", "align training", "loss ",
		"align evaluation", "align ready 100%", "final loss", "READY, 100%", "aligned-", " eval_",
		"accuracy ", "domain violations ", "uncertainty ", " → ")
	var st struct {
		Status string `json:"status"`
		Data   struct {
			AlignmentID string `json:"alignment_id"`
			ModelID     string `json:"model_id"`
		} `json:"data"`
	}
	id := strings.Fields(out[strings.Index(out, "alignment_"):])[0]
	if err := json.Unmarshal([]byte(e.run(alignStatus, "", id, "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Status != "READY" || st.Data.ModelID == "" {
		t.Fatalf("status %+v, want READY with a model", st)
	}
	contains(t, "align list", e.run(alignList, ""), id, "READY")
	if _, _, err := e.try(alignStop, "", id); err == nil || !strings.Contains(err.Error(), "HTTP 409") {
		t.Errorf("stopping a finished alignment: %v, want HTTP 409", err)
	}

	// Deploy and chat, one-shot and interactive.
	model := st.Data.ModelID
	contains(t, "deploy", e.run(deploy, "", model, "--wait"), model+" DEPLOYED")
	contains(t, "models aligned", e.run(modelsAligned, ""), model, "DEPLOYED")
	// The models are random, so what they say is noise; what is checked is
	// that an answer of the asked length streams in, and that the
	// conversation goes on for as many questions as are asked.
	var resp struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	json.Unmarshal([]byte(e.run(chat, "", model, "--message", "Gold?", "--max-tokens", "4", "--json")), &resp)
	if resp.Usage.CompletionTokens != 4 || resp.Choices[0].FinishReason != "length" {
		t.Errorf("chat --json: %+v, want 4 tokens ending for length", resp)
	}
	_, errw, err := e.try(chat, "Gold?\nSilver?\n/exit\nnot asked\n", model, "--max-tokens", "3")
	if err != nil || strings.Count(errw, "(3 tokens, ") != 2 {
		t.Errorf("interactive chat: %v; stderr %q, want two answers of 3 tokens", err, errw)
	}

	// Evaluation: compare base and aligned, then show it again.
	out = e.run(evalCreate, "", "--model", "tiny", "--compare", model, "--benchmark", b.BenchmarkID, "--wait")
	contains(t, "eval create --wait", out, "evaluate 100%", "evaluation eval_", "tiny", model, "accuracy")
	evalID := strings.Fields(out[strings.Index(out, "evaluation eval_")+len("evaluation "):])[0]
	if show := e.run(evalShow, "", evalID); show != out[strings.Index(out, "evaluation eval_"):] {
		t.Errorf("eval show differs from what eval create printed:\n%s\nwant\n%s", show, out)
	}
	var res struct {
		Method string `json:"method"`
	}
	json.Unmarshal([]byte(e.run(evalShow, "", evalID, "--json")), &res)
	if res.Method != "eval-compare" {
		t.Errorf("eval show --json: method %q, want eval-compare", res.Method)
	}

	// Undeploy: the model stops serving, and a second undeploy is refused.
	contains(t, "undeploy", e.run(undeploy, "", model, "--wait"), model+" UNDEPLOYED")
	if _, _, err := e.try(chat, "", model, "--message", "Gold?"); err == nil || !strings.Contains(err.Error(), "HTTP 404") {
		t.Errorf("chat after undeploy: %v, want HTTP 404", err)
	}
	if _, _, err := e.try(undeploy, "", model); err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("undeploying twice: %v, want HTTP 400", err)
	}
}

// TestClientErrors checks that what goes wrong reaches the user as one
// line naming the problem, and a failed command.
func TestClientErrors(t *testing.T) {
	e := newE2E(t)
	tests := []struct {
		name string
		cmd  func(context.Context, []string, stdio) error
		env  map[string]string
		args []string
		want string
	}{
		{"no key", alignList, map[string]string{"ATTUNE_URL": e.url}, nil, "no API key: pass --key or set ATTUNE_KEY"},
		{"wrong key", alignList, map[string]string{"ATTUNE_URL": e.url, "ATTUNE_KEY": "atk_wrong"}, nil, "(HTTP 401)"},
		{"unknown alignment", alignStatus, nil, []string{"alignment_01HZZZZZZZZZZZZZZZZZZZZZZZ"}, "(HTTP 404)"},
		{"undeployed model", chat, nil, []string{"aligned-nothing", "--message", "hi"}, "(HTTP 404)"},
		{"missing flags", alignCreate, nil, []string{"--name", "x"}, "--name, --base-model and --docs are required"},
		{"no server", alignList, map[string]string{"ATTUNE_URL": "http://127.0.0.1:1", "ATTUNE_KEY": "k"}, nil, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = map[string]string{"ATTUNE_URL": e.url, "ATTUNE_KEY": e.key}
			}
			io, _, _ := testStdio(env, "")
			err := tt.cmd(context.Background(), tt.args, io)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line containing %q", err, tt.want)
			}
		})
	}
}

package synth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"attune"
	"attune/ingest"
)

func chunk(doc, text string) ingest.Chunk {
	return ingest.Chunk{DocumentID: doc, Text: text, Title: "Iron"}
}

func TestExtractiveKinds(t *testing.T) {
	chunks := []ingest.Chunk{
		chunk("faq", "## 3.1. How do I install it?\n\nRun the installer.\nThen reboot.\n\n## 3.2. Next"),
		chunk("def", "Iron is a metal with atomic number 26 and symbol Fe. Its atomic weight is listed as 55.847."),
		chunk("kv", "- Melting point: 1538 °C\n- Note: see below"),
		chunk("table", "| Name | Symbol |\n| --- | --- |\n| Gold | Au |"),
		chunk("cloze", "The element was first isolated by Georg Brandt in a small laboratory near the city."),
		chunk("json", "question: Is iron magnetic?\nanswer: Yes, iron is ferromagnetic."),
	}
	got, err := Extractive{}.Generate(context.Background(), chunks, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"How do I install it?":                  "Run the installer. Then reboot.",
		"What is Iron?":                         "Iron is a metal with atomic number 26 and symbol Fe.",
		"What is the atomic number of Iron?":    "26",
		"Which metal has the atomic number 26?": "Iron",
		"What is the symbol of Iron?":           "Fe",
		"Which metal has the symbol Fe?":        "Iron",
		"What is the atomic weight of Iron?":    "55.847",
		"What is the Melting point of Iron?":    "1538 °C",
		"What is the symbol of Gold?":           "Au",
		"Fill in the blank: The element was first isolated by _____ in a small laboratory near the city.": "Georg Brandt",
		"Is iron magnetic?": "Yes, iron is ferromagnetic.",
	}
	gotMap := map[string]string{}
	for _, p := range got {
		gotMap[p.Question] = p.Answer
	}
	if !reflect.DeepEqual(gotMap, want) {
		for q, a := range gotMap {
			if want[q] != a {
				t.Errorf("got unexpected %q → %q", q, a)
			}
		}
		for q, a := range want {
			if gotMap[q] != a {
				t.Errorf("missing %q → %q (got %q)", q, a, gotMap[q])
			}
		}
	}
}

func TestExtractiveBalanceAndSeed(t *testing.T) {
	chunks := loadCorpus(t, "dict-elements")
	a, _ := Extractive{Seed: 7}.Generate(context.Background(), chunks, 50)
	b, _ := Extractive{Seed: 7}.Generate(context.Background(), chunks, 50)
	c, _ := Extractive{Seed: 8}.Generate(context.Background(), chunks, 50)
	if len(a) != 50 {
		t.Fatalf("got %d pairs, want 50", len(a))
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different pairs")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same pairs")
	}
	docs := map[string]bool{}
	for _, p := range a {
		docs[p.DocumentID] = true
	}
	if len(docs) != 50 {
		t.Errorf("50 pairs came from %d documents, want one each from 50", len(docs))
	}
}

func TestBuildTrainingSet(t *testing.T) {
	chunks := loadCorpus(t, "debian-faq")
	pairs, _ := Extractive{Seed: 1}.Generate(context.Background(), chunks, 0)
	var bench []struct{ Question string }
	data, _ := os.ReadFile("../testdata/corpora/debian-faq/benchmark.json")
	if err := json.Unmarshal(data, &bench); err != nil {
		t.Fatal(err)
	}
	var questions []string
	for _, b := range bench {
		questions = append(questions, b.Question)
	}

	ts := BuildTrainingSet(chunks, pairs, questions, TrainingOptions{HoldOut: 0.1, Seed: 3})
	m := ts.Mixture
	t.Logf("mixture: %+v", m)
	if m.TextExamples+m.DroppedChunks != len(chunks) {
		t.Errorf("text examples %d + dropped %d != %d chunks", m.TextExamples, m.DroppedChunks, len(chunks))
	}
	if m.Pairs == 0 || m.ChatExamples <= m.Pairs {
		t.Errorf("%d chat examples from %d pairs; want several phrasings a pair", m.ChatExamples, m.Pairs)
	}
	if total := len(ts.Train) + len(ts.HoldOut); total != m.TextExamples+m.ChatExamples || m.HeldOut != total/10 {
		t.Errorf("train %d + held out %d (report %d) of %d examples", len(ts.Train), len(ts.HoldOut), m.HeldOut, total)
	}
	if m.RewrittenLines == 0 {
		t.Error("no heading was rephrased, but the FAQ headings are benchmark questions")
	}

	// No example may contain a benchmark question: checked here on the
	// written JSONL with a plain lower-case, letters-only comparison.
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, append(ts.Train, ts.HoldOut...)); err != nil {
		t.Fatal(err)
	}
	squash := func(s string) string {
		return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
		}), " ")
	}
	var squashed []string
	for _, q := range questions {
		squashed = append(squashed, " "+squash(q)+" ")
	}
	lines := 0
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		lines++
		var e Example
		if err := json.Unmarshal([]byte(line), &e); err != nil || (e.Text == "") == (len(e.Messages) == 0) {
			t.Fatalf("bad JSONL line %q: %v", line, err)
		}
		all := e.Text
		for _, msg := range e.Messages {
			all += "\n" + msg.Content
		}
		all = " " + squash(all) + " "
		for i, q := range squashed {
			if strings.Contains(all, q) {
				t.Fatalf("an example contains the benchmark question %q", questions[i])
			}
		}
	}
	if lines != len(ts.Train)+len(ts.HoldOut) {
		t.Errorf("wrote %d lines for %d examples", lines, len(ts.Train)+len(ts.HoldOut))
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		cfg   Config
		field string
	}{
		{Config{BaseURL: "http://localhost:8080/v1", Model: "m"}, ""},
		{Config{Model: "m"}, "base_url"},
		{Config{BaseURL: "localhost:8080", Model: "m"}, "base_url"},
		{Config{BaseURL: "ftp://x/v1", Model: "m"}, "base_url"},
		{Config{BaseURL: "https://x/v1"}, "model"},
		{Config{BaseURL: "https://x/v1", Model: "m", Timeout: -1}, "timeout"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		var e *attune.Error
		switch {
		case tt.field == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tt.cfg, err)
		case tt.field != "" && (!errors.As(err, &e) || e.Kind != attune.KindInvalid || e.Field != tt.field):
			t.Errorf("%+v: got %v, want an error on %s", tt.cfg, err, tt.field)
		}
	}
}

// chatServer is an httptest server speaking the OpenAI chat completions
// route: a protocol test of the client, not of any model. It answers
// each request with reply(request).
func chatServer(t *testing.T, reply func(req chatRequest) string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Authorization") != "Bearer k" {
			http.Error(w, `{"error":"bad key"}`, http.StatusUnauthorized)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var req chatRequest
		if err := json.Unmarshal(body, &req); err != nil || req.Model != "m" || len(req.Messages) == 0 {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion", "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]string{"role": "assistant", "content": reply(req)}}},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLLMGenerator(t *testing.T) {
	srv := chatServer(t, func(req chatRequest) string {
		if !strings.Contains(req.Messages[0].Content, "JSON array") {
			return "no instructions"
		}
		// One supported pair, one the chunk does not support, one broken.
		return "Here you go:\n```json\n" + `[{"question": "What is the symbol of iron?", "answer": "Fe"},
			{"question": "Who discovered iron?", "answer": "Marie Curie"},
			{"question": "", "answer": "x"}]` + "\n```"
	})
	chat, err := NewChat(Config{BaseURL: srv.URL + "/v1", Model: "m", APIKey: "k"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := LLM{Chat: chat}.Generate(context.Background(), []ingest.Chunk{chunk("d", "Iron has the symbol Fe.")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{{Question: "What is the symbol of iron?", Answer: "Fe", Kind: KindLLM, DocumentID: "d"}}
	if !reflect.DeepEqual(pairs, want) {
		t.Errorf("got %+v, want %+v", pairs, want)
	}

	// A bad key is the caller's to fix: KindInvalid with the status.
	bad, _ := NewChat(Config{BaseURL: srv.URL + "/v1", Model: "m", APIKey: "wrong"}, srv.Client())
	_, err = bad.Complete(context.Background(), []Message{{Role: "user", Content: "hi"}})
	if attune.ErrorKind(err) != attune.KindInvalid || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad key: got %v, want an invalid error naming 401", err)
	}
	// An endpoint that is down is unavailable.
	down, _ := NewChat(Config{BaseURL: "http://127.0.0.1:1/v1", Model: "m"}, nil)
	if _, err := down.Complete(context.Background(), nil); attune.ErrorKind(err) != attune.KindUnavailable {
		t.Errorf("unreachable endpoint: got %v, want unavailable", err)
	}
}

func TestSupported(t *testing.T) {
	text := "Iron is a metal with atomic number 26. It was known in antiquity."
	tests := []struct {
		answer string
		want   float64
	}{
		{"26", 1},
		{"the atomic number is 26", 1},
		{"27", 0},
		{"a metal known in antiquity", 1},
		{"a metal discovered in 1950", 1.0 / 3}, // "metal" of metal, discovered, 1950
		{"the", 0},
	}
	for _, tt := range tests {
		if got := Supported(tt.answer, text); got < tt.want-1e-9 || got > tt.want+1e-9 {
			t.Errorf("Supported(%q) = %v, want %v (±1e-9)", tt.answer, got, tt.want)
		}
	}
}

// TestExtractiveFromFiles runs extraction, chunking and generation on
// uploads of several types and finds the same fact in each.
func TestExtractiveFromFiles(t *testing.T) {
	files := map[string]string{
		"elements.csv":  "Name,Symbol,Atomic number\nIron,Fe,26\nGold,Au,79\n",
		"elements.html": "<h1>Elements</h1><table><tr><th>Name</th><th>Symbol</th></tr><tr><td>Iron</td><td>Fe</td></tr></table>",
		"iron.md":       "# Iron\n\n- Symbol: Fe\n- Atomic number: 26\n",
		"iron.json":     `{"name": "Iron", "symbol": "Fe"}`,
	}
	want := map[string]string{
		"elements.csv":  "What is the symbol of Iron?",
		"elements.html": "What is the symbol of Iron?",
		"iron.md":       "What is the symbol of Iron?",
		"iron.json":     "What is the symbol of Iron?",
	}
	for name, content := range files {
		doc, err := ingest.Extract(name, []byte(content))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pairs, err := Extractive{}.Generate(context.Background(), ingest.Split(name, doc, ingest.ChunkOptions{}), 0)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range pairs {
			if p.Question == want[name] && p.Answer == "Fe" {
				found = true
			}
		}
		if want[name] != "" && !found {
			t.Errorf("%s: no %q → Fe among %+v", name, want[name], pairs)
		}
	}
}

func TestTrainingTextBudget(t *testing.T) {
	c := ingest.Chunk{DocumentID: "d", Text: "one two three", Headings: []string{"Guide", "Part"}}
	words := func(s string) int { return len(strings.Fields(s)) }
	tests := []struct {
		max  int
		want string
	}{
		{0, "Guide > Part\n\none two three"},
		{6, "Guide > Part\n\none two three"}, // six words with the prefix
		{5, "one two three"},                 // the prefix would pass the budget
	}
	for _, tt := range tests {
		ts := BuildTrainingSet([]ingest.Chunk{c}, nil, nil, TrainingOptions{MaxTokens: tt.max, Count: words})
		if got := ts.Train[0].Text; got != tt.want {
			t.Errorf("budget %d: got %q, want %q", tt.max, got, tt.want)
		}
	}
}

// TestPhrasings checks the wordings of fact and reverse pairs: answers as
// sentences that restate the key first, naming the subject as the
// question does, then bare; and no adverb forced after "which".
func TestPhrasings(t *testing.T) {
	fact := phrasings(Pair{Kind: KindFact, Question: "What is the atomic number of Lithium?", Answer: "3"})
	want := map[[2]string]bool{
		{"What is the atomic number of Lithium?", "The atomic number of Lithium is 3."}:  true,
		{"What is the atomic number for Lithium?", "The atomic number of Lithium is 3."}: true,
		{"What is the atomic number of lithium?", "The atomic number of lithium is 3."}:  true,
		{"What is the atomic number of Lithium?", "3"}:                                   true,
	}
	for _, p := range fact {
		delete(want, p)
	}
	if len(want) > 0 {
		t.Errorf("fact phrasings %q lack %v", fact, want)
	}
	if fact[0][1] != "The atomic number of Lithium is 3." {
		t.Errorf("first fact phrasing %q, want a sentence answer first", fact[0])
	}

	rev := phrasings(Pair{Kind: KindReverse, Question: "Which chemical element has the chemical symbol Li?", Answer: "Lithium"})
	if rev[0][1] != "The chemical element with the chemical symbol Li is Lithium." || rev[len(rev)-1][1] != "Lithium" {
		t.Errorf("reverse phrasings %q: want the sentence answer first and the bare one last", rev)
	}
	for _, p := range rev {
		if strings.Contains(p[0], "exactly") || strings.Contains(p[0], "really") {
			t.Errorf("reverse phrasing %q: an adverb where none fits", p[0])
		}
	}
}

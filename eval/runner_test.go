package eval

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"attune"
	"attune/synth"
)

// answers is an Answerer that replies from a table: a fixed model, so that
// the metrics can be worked out by hand.
type answers map[string]struct {
	text string
	conf float64
}

func (a answers) Answer(_ context.Context, q string) (string, float64, error) {
	r, ok := a[q]
	if !ok {
		return "", 0, errors.New("no answer for " + q)
	}
	return r.text, r.conf, nil
}

// stepClock returns a clock that advances by step at every reading.
func stepClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

var benchmark = []attune.Question{
	{QuestionNum: 1, Question: "Symbol of iron?", Answer: "Fe"},
	{QuestionNum: 2, Question: "Symbol of gold?", Answer: "Au"},
	{QuestionNum: 3, Question: "Number of iron?", Answer: "26"},
	{QuestionNum: 4, Question: "Symbol of tin?", Answer: "Sn"},
}

func TestRunner(t *testing.T) {
	model := answers{
		"Symbol of iron?": {"Fe", 0.9},            // right, confident
		"Symbol of gold?": {"Ag", 0.8},            // wrong, confident: a violation
		"Number of iron?": {"It is 26.", 0.4},     // right (contained), unsure
		"Symbol of tin?":  {"I do not know", 0.1}, // wrong, unsure
	}
	var progress []Progress
	r := &Runner{Answerer: model, Now: stepClock(time.Second),
		Progress: func(p Progress) { progress = append(progress, p) }}
	res, err := r.Run(context.Background(), benchmark)
	if err != nil {
		t.Fatal(err)
	}

	// Scores 1 0 1 0; relevance 1 0 0.5 0 ("It is 26": 1 of 3 words, F1 0.5).
	want := Metrics{
		BinaryCorrectnessMean: 0.5, BinaryCorrectnessStd: 0.5, BinaryCorrectnessMin: 0, BinaryCorrectnessMax: 1,
		AnswerRelevanceMean: 0.375, AnswerRelevanceStd: math.Sqrt((0.625*0.625 + 0.375*0.375 + 0.125*0.125 + 0.375*0.375) / 4),
		AnswerRelevanceMin: 0, AnswerRelevanceMax: 1,
		Accuracy: 0.5, DomainViolations: 1, Uncertainty: (0.1 + 0.2 + 0.6 + 0.9) / 4,
	}
	if !metricsClose(res.Metrics, want, 1e-12) {
		t.Errorf("metrics:\ngot  %+v\nwant %+v (±1e-12)", res.Metrics, want)
	}
	if d := res.Details[2]; d.QuestionID != 3 || !d.Correct || d.Score != 1 || d.ModelAnswer != "It is 26." || d.Confidence != 0.4 || d.Seconds != 1 {
		t.Errorf("detail 3: %+v", d)
	}

	// The clock advances one second a reading: three readings a question
	// after the start, so the average is three seconds.
	if len(progress) != 4 {
		t.Fatalf("got %d progress calls, want 4", len(progress))
	}
	for i, p := range progress {
		left := float64(3 - i)
		if p.Done != i+1 || p.Total != 4 || math.Abs(p.AvgSeconds-3) > 1e-9 || math.Abs(p.ETASeconds-3*left) > 1e-9 {
			t.Errorf("progress %d: %+v, want done %d of 4, 3 s a question, ETA %v s (±1e-9)", i, p, i+1, 3*left)
		}
	}
}

func metricsClose(a, b Metrics, tol float64) bool {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range av.NumField() {
		x, y := av.Field(i), bv.Field(i)
		switch x.Kind() {
		case reflect.Float64:
			if math.Abs(x.Float()-y.Float()) > tol {
				return false
			}
		case reflect.Int:
			if x.Int() != y.Int() {
				return false
			}
		}
	}
	return true
}

func TestRunnerErrors(t *testing.T) {
	r := &Runner{Answerer: answers{}}
	if _, err := r.Run(context.Background(), nil); attune.ErrorKind(err) != attune.KindInvalid {
		t.Errorf("empty benchmark: got %v, want invalid", err)
	}
	_, err := r.Run(context.Background(), benchmark)
	if err == nil || !strings.Contains(err.Error(), "question 1") {
		t.Errorf("failing answerer: got %v, want an error naming question 1", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Run(ctx, benchmark); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want context.Canceled", err)
	}
}

func TestCompare(t *testing.T) {
	ctx := context.Background()
	base, _ := (&Runner{Answerer: answers{
		"Symbol of iron?": {"Fe", 0.5}, "Symbol of gold?": {"Ag", 0.6},
		"Number of iron?": {"27", 0.6}, "Symbol of tin?": {"Sn", 0.5},
	}}).Run(ctx, benchmark)
	aligned, _ := (&Runner{Answerer: answers{
		"Symbol of iron?": {"Fe", 0.9}, "Symbol of gold?": {"Au", 0.9},
		"Number of iron?": {"26", 0.9}, "Symbol of tin?": {"Pb", 0.2},
	}}).Run(ctx, benchmark)

	c := Compare(Side{ModelID: "qwen-base", Result: base}, Side{ModelID: "aligned-1", Result: aligned, Aligned: true})
	if c.Method != "eval-compare" || c.ModelID != "qwen-base" || c.ModelID2 != "aligned-1" ||
		c.BaseModel.ModelID != "qwen-base" || c.Aligned.ModelID != "aligned-1" || c.Baseline.ModelID != "qwen-base" {
		t.Errorf("labels: %+v", c)
	}
	rows := map[string]MetricChange{}
	for _, r := range c.Comparison.Metrics {
		rows[r.Metric] = r
	}
	// Accuracy 0.5 → 0.75: +50 %. Min correctness 0 → 0: base 0 gives 0.
	for metric, want := range map[string]float64{"binary_correctness_mean": 50, "binary_correctness_min": 0, "accuracy": 50} {
		if got := rows[metric].Improvement; math.Abs(got-want) > 1e-9 {
			t.Errorf("%s improvement: got %v, want %v (±1e-9)", metric, got, want)
		}
	}
	if len(c.Comparison.Metrics) != 11 {
		t.Errorf("got %d comparison rows, want 8 of NuGen's and 3 of attune's", len(c.Comparison.Metrics))
	}
	wantFlips := Flips{
		Improved: []Flip{
			{QuestionID: 2, Question: "Symbol of gold?", ExpectedAnswer: "Au", BaselineAnswer: "Ag", AlignedAnswer: "Au"},
			{QuestionID: 3, Question: "Number of iron?", ExpectedAnswer: "26", BaselineAnswer: "27", AlignedAnswer: "26"},
		},
		Regressed: []Flip{{QuestionID: 4, Question: "Symbol of tin?", ExpectedAnswer: "Sn", BaselineAnswer: "Sn", AlignedAnswer: "Pb"}},
		Unchanged: 1,
	}
	if !reflect.DeepEqual(c.Flips, wantFlips) {
		t.Errorf("flips:\ngot  %+v\nwant %+v", c.Flips, wantFlips)
	}

	// The first side marked aligned swaps the plain fields and the flips,
	// not NuGen's labels.
	r := Compare(Side{ModelID: "aligned-1", Result: aligned, Aligned: true}, Side{ModelID: "qwen-base", Result: base})
	if r.BaseModel.ModelID != "aligned-1" || r.Aligned.ModelID != "aligned-1" || r.Baseline.ModelID != "qwen-base" || len(r.Flips.Improved) != 2 {
		t.Errorf("aligned first: %+v", r)
	}
}

// TestJSONShape checks the wire names the API serialises directly.
func TestJSONShape(t *testing.T) {
	res := &Result{Details: []Detail{{QuestionID: 1}}}
	c := Compare(Side{ModelID: "a", Result: res}, Side{ModelID: "b", Result: res})
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	for _, key := range []string{"method", "model_id", "model_id_2", "base_model", "eval_model", "comparison", "aligned", "baseline", "flips"} {
		if _, ok := m[key]; !ok {
			t.Errorf("comparison JSON lacks %q: %s", key, data)
		}
	}
	comp := m["comparison"].(map[string]any)
	row := comp["metrics"].([]any)[0].(map[string]any)
	for _, key := range []string{"metric", "base", "evaluated", "improvement_%"} {
		if _, ok := row[key]; !ok {
			t.Errorf("comparison row lacks %q", key)
		}
	}
	summary := comp["summary"].(map[string]any)
	for _, key := range []string{"avg_improvement", "max_improvement", "min_improvement"} {
		if _, ok := summary[key]; !ok {
			t.Errorf("summary lacks %q", key)
		}
	}
	metrics := m["base_model"].(map[string]any)["metrics"].(map[string]any)
	for _, stat := range []string{"mean", "std", "min", "max"} {
		for _, name := range []string{"binary_correctness_", "answer_relevance_"} {
			if _, ok := metrics[name+stat]; !ok {
				t.Errorf("metrics lack %q", name+stat)
			}
		}
	}
	for _, key := range []string{"accuracy", "domain_violations", "uncertainty"} {
		if _, ok := metrics[key]; !ok {
			t.Errorf("metrics lack %q", key)
		}
	}
	data, _ = json.Marshal(res)
	for _, key := range []string{`"detailed_results"`, `"question_id"`, `"expected_answer"`, `"model_answer"`, `"score"`, `"relevance"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("result JSON lacks %s: %s", key, data)
		}
	}
}

// TestLLMJudge runs the judge against an httptest server implementing the
// OpenAI chat completions route: a protocol test, not a judgement test.
func TestLLMJudge(t *testing.T) {
	reply := `Sure. {"correct": true, "relevance": 1.7, "reason": "same symbol"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct {
			Model    string          `json:"model"`
			Messages []synth.Message `json:"messages"`
		}
		if r.URL.Path != "/v1/chat/completions" || json.Unmarshal(body, &req) != nil || len(req.Messages) != 2 ||
			!strings.Contains(req.Messages[1].Content, "Reference answer: Fe") {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []map[string]any{
			{"message": map[string]string{"role": "assistant", "content": reply}}}})
	}))
	defer srv.Close()
	chat, err := synth.NewChat(synth.Config{BaseURL: srv.URL + "/v1", Model: "judge"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	j := LLMJudge{Chat: chat}

	v, err := j.Judge(context.Background(), "Symbol of iron?", Reference{Answer: "Fe"}, "Fe")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Verdict{Correct: true, Relevance: 1, Reason: "same symbol"}); v != want {
		t.Errorf("got %+v, want %+v (relevance clamped to 1)", v, want)
	}

	reply = "I think it is fine."
	if _, err := j.Judge(context.Background(), "Symbol of iron?", Reference{Answer: "Fe"}, "Fe"); attune.ErrorKind(err) != attune.KindUnavailable {
		t.Errorf("reply without a verdict: got %v, want unavailable", err)
	}
}

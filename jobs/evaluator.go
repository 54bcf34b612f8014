package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"attune"
	"attune/eval"
	"attune/runtime"
)

// Generator is the part of the serving runtime that evaluations answer
// through; *runtime.Runtime has it. Sharing the runtime means an evaluation
// uses the base model already in memory for serving.
type Generator interface {
	Generate(ctx context.Context, req runtime.Request, emit func(index int, text string) error) ([]runtime.Result, error)
}

// RuntimeEvaluator is the real Evaluator: eval's runner asks each question
// through the runtime with greedy decoding, and the judge (lexical unless
// set) grades the answers against the references.
type RuntimeEvaluator struct {
	Runtime Generator
	Judge   eval.Judge // nil means eval.Lexical{}
	// MaxTokens bounds an answer; default 128.
	MaxTokens int
}

// Evaluate runs every model of req on its benchmark and reports the
// results: NuGen's single-model shape for one model, its comparison shape
// (with plainly named baseline and aligned sides) for two.
func (e RuntimeEvaluator) Evaluate(ctx context.Context, req EvalRequest, progress func(done, total int)) (EvalReport, error) {
	qs := req.Benchmark.Questions
	total := len(qs) * len(req.Models)
	var results []*eval.Result
	for i, m := range req.Models {
		done := i * len(qs)
		r := eval.Runner{
			Answerer: answerer{e, m, "eval:" + req.Evaluation.ID},
			Judge:    e.Judge,
			Progress: func(p eval.Progress) { progress(done+p.Done, total) },
		}
		res, err := r.Run(ctx, qs)
		if err != nil {
			return EvalReport{}, fmt.Errorf("evaluating %s: %w", m.ID, err)
		}
		results = append(results, res)
	}
	return report(req.Models, results)
}

// detail is one answer of the download route, naming its model.
type detail struct {
	ModelID string `json:"model_id"`
	eval.Detail
}

// report shapes the results of one or two models.
func report(models []EvalModel, results []*eval.Result) (EvalReport, error) {
	var details []detail
	for i, r := range results {
		for _, d := range r.Details {
			details = append(details, detail{ModelID: models[i].ID, Detail: d})
		}
	}
	if len(results) == 1 {
		b, err := json.Marshal(map[string]any{
			"method": "eval", "metrics": results[0].Metrics, "detailed_results": details,
		})
		return EvalReport{Results: b}, err
	}

	// Compare mode: the first model is the baseline, the second the aligned.
	cmp := eval.Compare(eval.Side{ModelID: models[0].ID, Result: results[0]},
		eval.Side{ModelID: models[1].ID, Result: results[1], Aligned: true})
	b, err := json.Marshal(struct {
		*eval.Comparison
		Details []detail `json:"detailed_results"`
	}{cmp, details})
	if err != nil {
		return EvalReport{}, err
	}
	before, after := results[0].Metrics, results[1].Metrics
	return EvalReport{Results: b, Metrics: &attune.PerformanceMetrics{
		AccuracyBefore: before.Accuracy, AccuracyAfter: after.Accuracy,
		DomainViolationsBefore: before.DomainViolations, DomainViolationsAfter: after.DomainViolations,
		UncertaintyBefore: before.Uncertainty, UncertaintyAfter: after.Uncertainty,
	}}, nil
}

// answerer asks one model through the runtime.
type answerer struct {
	e     RuntimeEvaluator
	model EvalModel
	key   string // the queue key, so serving requests keep their share
}

// Answer asks question as a user turn and returns the greedy answer and
// the model's confidence in it.
func (a answerer) Answer(ctx context.Context, question string) (string, float64, error) {
	max := a.e.MaxTokens
	if max == 0 {
		max = 128
	}
	res, err := a.e.Runtime.Generate(ctx, runtime.Request{
		Target: runtime.Target{BaseID: a.model.Base.ID, BaseDir: a.model.Base.Path,
			ModelID: adapterModelID(a.model), AdapterDir: a.model.AdapterDir},
		Messages: []runtime.Message{{Role: "user", Content: question}},
		Sampling: runtime.Sampling{MaxTokens: max, Temperature: 0},
		Key:      a.key,
	}, nil)
	if err != nil {
		return "", 0, err
	}
	if len(res) == 0 {
		return "", 0, fmt.Errorf("the runtime gave no answer")
	}
	return res[0].Text, res[0].Confidence, nil
}

// adapterModelID is the runtime's name for m: its id when it has an
// adapter, empty for a base model.
func adapterModelID(m EvalModel) string {
	if m.AdapterDir == "" {
		return ""
	}
	return m.ID
}

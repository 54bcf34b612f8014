package eval

import (
	"context"
	"fmt"
	"math"
	"time"

	"attune"
)

// Progress is how far an evaluation has come, for the status route.
type Progress struct {
	Done  int `json:"questions_completed"`
	Total int `json:"total_questions"`
	// AvgSeconds is the measured mean time per question so far.
	AvgSeconds float64 `json:"avg_time_per_question"`
	// ETASeconds is AvgSeconds times the questions left.
	ETASeconds float64 `json:"eta_seconds"`
}

// Metrics are the numbers an evaluation reports, named as the API names
// them. Binary correctness is 1 for a correct answer and 0 otherwise;
// standard deviations are of the population (divided by n).
type Metrics struct {
	BinaryCorrectnessMean float64 `json:"binary_correctness_mean"`
	BinaryCorrectnessStd  float64 `json:"binary_correctness_std"`
	BinaryCorrectnessMin  float64 `json:"binary_correctness_min"`
	BinaryCorrectnessMax  float64 `json:"binary_correctness_max"`
	AnswerRelevanceMean   float64 `json:"answer_relevance_mean"`
	AnswerRelevanceStd    float64 `json:"answer_relevance_std"`
	AnswerRelevanceMin    float64 `json:"answer_relevance_min"`
	AnswerRelevanceMax    float64 `json:"answer_relevance_max"`

	// Accuracy is the share of answers judged correct.
	Accuracy float64 `json:"accuracy"`
	// DomainViolations counts answers judged wrong although the model's
	// confidence was at least ConfidentThreshold.
	DomainViolations int `json:"domain_violations"`
	// Uncertainty is the mean of 1 − confidence.
	Uncertainty float64 `json:"uncertainty"`
}

// ConfidentThreshold is the confidence from which a wrong answer counts as
// a domain violation.
const ConfidentThreshold = 0.5

// Detail is the record of one question, as the download route lists it.
type Detail struct {
	QuestionID     int     `json:"question_id"`
	Question       string  `json:"question"`
	ExpectedAnswer string  `json:"expected_answer"`
	ModelAnswer    string  `json:"model_answer"`
	Score          float64 `json:"score"` // binary correctness: 1 or 0
	Relevance      float64 `json:"relevance"`
	Confidence     float64 `json:"confidence"`
	Correct        bool    `json:"correct"`
	Reason         string  `json:"reason,omitempty"` // the judge's
	Seconds        float64 `json:"seconds"`          // time to answer and judge
}

// Result is one model's evaluation on a benchmark.
type Result struct {
	Metrics Metrics  `json:"metrics"`
	Details []Detail `json:"detailed_results"`
}

// Runner evaluates one model on a benchmark.
type Runner struct {
	Answerer Answerer
	Judge    Judge // nil means Lexical{}

	// Accept returns further accepted answers for a question, when the
	// benchmark carries them (nil: none).
	Accept func(q attune.Question) []string

	// Progress, when set, is called after every question.
	Progress func(Progress)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Run asks every question, judges the answers and computes the metrics.
// It fails on an empty benchmark (KindInvalid), a cancelled context, or an
// Answerer or Judge error, naming the question.
func (r *Runner) Run(ctx context.Context, questions []attune.Question) (*Result, error) {
	if len(questions) == 0 {
		return nil, attune.Invalidf("benchmark_id", "the benchmark has no questions")
	}
	judge, now := r.Judge, r.Now
	if judge == nil {
		judge = Lexical{}
	}
	if now == nil {
		now = time.Now
	}

	start := now()
	res := &Result{Details: make([]Detail, 0, len(questions))}
	for i, q := range questions {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d, err := r.one(ctx, judge, now, q)
		if err != nil {
			return nil, fmt.Errorf("eval: question %d: %w", q.QuestionNum, err)
		}
		res.Details = append(res.Details, d)

		if r.Progress != nil {
			avg := now().Sub(start).Seconds() / float64(i+1)
			r.Progress(Progress{Done: i + 1, Total: len(questions), AvgSeconds: avg,
				ETASeconds: avg * float64(len(questions)-i-1)})
		}
	}
	res.Metrics = Summarize(res.Details)
	return res, nil
}

// one answers and judges a single question.
func (r *Runner) one(ctx context.Context, judge Judge, now func() time.Time, q attune.Question) (Detail, error) {
	t0 := now()
	answer, conf, err := r.Answerer.Answer(ctx, q.Question)
	if err != nil {
		return Detail{}, fmt.Errorf("answer: %w", err)
	}
	if math.IsNaN(conf) {
		conf = 0
	}
	conf = min(max(conf, 0), 1)

	ref := Reference{Answer: q.Answer}
	if r.Accept != nil {
		ref.Accept = r.Accept(q)
	}
	v, err := judge.Judge(ctx, q.Question, ref, answer)
	if err != nil {
		return Detail{}, fmt.Errorf("judge: %w", err)
	}
	d := Detail{QuestionID: q.QuestionNum, Question: q.Question, ExpectedAnswer: q.Answer,
		ModelAnswer: answer, Relevance: v.Relevance, Confidence: conf, Correct: v.Correct,
		Reason: v.Reason, Seconds: now().Sub(t0).Seconds()}
	if v.Correct {
		d.Score = 1
	}
	return d, nil
}

// Summarize computes the metrics of a set of per-question results; all
// zero for none.
func Summarize(details []Detail) Metrics {
	if len(details) == 0 {
		return Metrics{}
	}
	scores := make([]float64, len(details))
	relevance := make([]float64, len(details))
	var m Metrics
	var uncertainty float64
	for i, d := range details {
		scores[i], relevance[i] = d.Score, d.Relevance
		uncertainty += 1 - d.Confidence
		if !d.Correct && d.Confidence >= ConfidentThreshold {
			m.DomainViolations++
		}
	}
	m.BinaryCorrectnessMean, m.BinaryCorrectnessStd, m.BinaryCorrectnessMin, m.BinaryCorrectnessMax = stats(scores)
	m.AnswerRelevanceMean, m.AnswerRelevanceStd, m.AnswerRelevanceMin, m.AnswerRelevanceMax = stats(relevance)
	m.Accuracy = m.BinaryCorrectnessMean
	m.Uncertainty = uncertainty / float64(len(details))
	return m
}

// stats returns the mean, population standard deviation, minimum and
// maximum of xs (not empty).
func stats(xs []float64) (mean, std, lo, hi float64) {
	lo, hi = xs[0], xs[0]
	for _, x := range xs {
		mean += x
		lo, hi = min(lo, x), max(hi, x)
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs))), lo, hi
}

package eval

// ModelMetrics is one model's id and metrics, as the results route shows
// each side of a comparison.
type ModelMetrics struct {
	ModelID string  `json:"model_id"`
	Metrics Metrics `json:"metrics"`
}

// MetricChange is one row of NuGen's comparison table.
type MetricChange struct {
	Metric    string  `json:"metric"`
	Base      float64 `json:"base"`
	Evaluated float64 `json:"evaluated"`
	// Improvement is (Evaluated − Base) / Base × 100, and 0 when Base is 0.
	// For domain_violations and uncertainty lower is better, so there a
	// negative value is the improvement.
	Improvement float64 `json:"improvement_%"`
}

// ChangeSummary summarises the improvements of NuGen's eight rows
// (binary correctness and answer relevance: mean, std, min, max).
type ChangeSummary struct {
	AvgImprovement float64 `json:"avg_improvement"`
	MaxImprovement float64 `json:"max_improvement"`
	MinImprovement float64 `json:"min_improvement"`
}

// ComparisonTable is NuGen's "comparison" object.
type ComparisonTable struct {
	Metrics []MetricChange `json:"metrics"`
	Summary ChangeSummary  `json:"summary"`
}

// Flip is a question whose verdict changed between the two models.
type Flip struct {
	QuestionID     int    `json:"question_id"`
	Question       string `json:"question"`
	ExpectedAnswer string `json:"expected_answer"`
	BaselineAnswer string `json:"baseline_answer"`
	AlignedAnswer  string `json:"aligned_answer"`
}

// Flips lists the questions the aligned model got right and the baseline
// wrong (Improved), the reverse (Regressed), and counts the rest.
type Flips struct {
	Improved  []Flip `json:"improved"`
	Regressed []Flip `json:"regressed"`
	Unchanged int    `json:"unchanged"`
}

// Comparison is the result of compare mode. BaseModel and EvalModel keep
// NuGen's labels: BaseModel is the request's model_id (the first model),
// EvalModel its model_id_2, and improvement is measured from the first to
// the second. Baseline and Aligned say plainly which is which.
type Comparison struct {
	Method     string          `json:"method"` // "eval-compare"
	ModelID    string          `json:"model_id"`
	ModelID2   string          `json:"model_id_2"`
	BaseModel  ModelMetrics    `json:"base_model"`
	EvalModel  ModelMetrics    `json:"eval_model"`
	Comparison ComparisonTable `json:"comparison"`
	Baseline   ModelMetrics    `json:"baseline"`
	Aligned    ModelMetrics    `json:"aligned"`
	Flips      Flips           `json:"flips"`
}

// Side is one model's evaluation in a comparison.
type Side struct {
	ModelID string
	Result  *Result
	// Aligned marks the aligned model. When neither side is marked, the
	// second is taken as the aligned one.
	Aligned bool
}

// Compare puts two evaluations of the same benchmark side by side: first is
// the request's model_id, second its model_id_2. Questions are matched by
// question id.
func Compare(first, second Side) *Comparison {
	baseline, aligned := first, second
	if first.Aligned && !second.Aligned {
		baseline, aligned = second, first
	}
	c := &Comparison{
		Method:    "eval-compare",
		ModelID:   first.ModelID,
		ModelID2:  second.ModelID,
		BaseModel: ModelMetrics{first.ModelID, first.Result.Metrics},
		EvalModel: ModelMetrics{second.ModelID, second.Result.Metrics},
		Baseline:  ModelMetrics{baseline.ModelID, baseline.Result.Metrics},
		Aligned:   ModelMetrics{aligned.ModelID, aligned.Result.Metrics},
	}
	c.Comparison = compareMetrics(first.Result.Metrics, second.Result.Metrics)
	c.Flips = flips(baseline.Result, aligned.Result)
	return c
}

// compareMetrics builds NuGen's table, then attune's three extra rows.
func compareMetrics(a, b Metrics) ComparisonTable {
	rows := []MetricChange{
		change("binary_correctness_mean", a.BinaryCorrectnessMean, b.BinaryCorrectnessMean),
		change("binary_correctness_std", a.BinaryCorrectnessStd, b.BinaryCorrectnessStd),
		change("binary_correctness_min", a.BinaryCorrectnessMin, b.BinaryCorrectnessMin),
		change("binary_correctness_max", a.BinaryCorrectnessMax, b.BinaryCorrectnessMax),
		change("answer_relevance_mean", a.AnswerRelevanceMean, b.AnswerRelevanceMean),
		change("answer_relevance_std", a.AnswerRelevanceStd, b.AnswerRelevanceStd),
		change("answer_relevance_min", a.AnswerRelevanceMin, b.AnswerRelevanceMin),
		change("answer_relevance_max", a.AnswerRelevanceMax, b.AnswerRelevanceMax),
	}
	var s ChangeSummary
	for i, r := range rows {
		s.AvgImprovement += r.Improvement / float64(len(rows))
		if i == 0 || r.Improvement > s.MaxImprovement {
			s.MaxImprovement = r.Improvement
		}
		if i == 0 || r.Improvement < s.MinImprovement {
			s.MinImprovement = r.Improvement
		}
	}
	rows = append(rows,
		change("accuracy", a.Accuracy, b.Accuracy),
		change("domain_violations", float64(a.DomainViolations), float64(b.DomainViolations)),
		change("uncertainty", a.Uncertainty, b.Uncertainty))
	return ComparisonTable{Metrics: rows, Summary: s}
}

func change(metric string, base, evaluated float64) MetricChange {
	c := MetricChange{Metric: metric, Base: base, Evaluated: evaluated}
	if base != 0 {
		c.Improvement = (evaluated - base) / base * 100
	}
	return c
}

// flips matches the two results' questions by id and sorts them into
// improved, regressed and unchanged.
func flips(baseline, aligned *Result) Flips {
	before := map[int]Detail{}
	for _, d := range baseline.Details {
		before[d.QuestionID] = d
	}
	f := Flips{Improved: []Flip{}, Regressed: []Flip{}}
	for _, a := range aligned.Details {
		b, ok := before[a.QuestionID]
		if !ok {
			continue
		}
		flip := Flip{QuestionID: a.QuestionID, Question: a.Question, ExpectedAnswer: a.ExpectedAnswer,
			BaselineAnswer: b.ModelAnswer, AlignedAnswer: a.ModelAnswer}
		switch {
		case a.Correct && !b.Correct:
			f.Improved = append(f.Improved, flip)
		case !a.Correct && b.Correct:
			f.Regressed = append(f.Regressed, flip)
		default:
			f.Unchanged++
		}
	}
	return f
}

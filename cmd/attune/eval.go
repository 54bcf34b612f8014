package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"attune/client"
)

func init() {
	registerGroup("eval", "evaluate models on a benchmark on a server")
	registerSub("eval", "create", "evaluate a model, or compare two, on a benchmark", cmdFunc(evalCreate))
	registerSub("eval", "show", "show an evaluation's progress or results", cmdFunc(evalShow))
}

// evalCreate starts an evaluation and, with --wait, shows its progress and
// results.
func evalCreate(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("eval create", "eval create --model ID --benchmark ID [--compare ID] [--wait]", io)
	r.addFlags(fs, io)
	var req client.EvaluationRequest
	fs.StringVar(&req.ModelID, "model", "", "model to evaluate")
	fs.StringVar(&req.BenchmarkID, "benchmark", "", "benchmark to evaluate on")
	fs.StringVar(&req.ModelID2, "compare", "", "a second model to compare with the first")
	fs.StringVar(&req.JudgeProvider, "judge", "", "judge provider (server default: lexical)")
	wait := fs.Bool("wait", false, "wait for the results")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	if req.ModelID == "" || req.BenchmarkID == "" {
		fs.Usage()
		return fmt.Errorf("eval create: --model and --benchmark are required")
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	id, err := c.CreateEvaluation(ctx, req)
	if err != nil {
		return fmt.Errorf("eval create: %w", err)
	}
	if !*wait {
		if r.json {
			return printJSON(io.out, map[string]string{"evaluation_id": id, "status": "PROCESSING"})
		}
		fmt.Fprintf(io.out, "%s PROCESSING\n", id)
		return nil
	}
	res, err := waitEvaluation(ctx, c, id, io, r.json)
	if err != nil {
		return fmt.Errorf("eval create: %w", err)
	}
	if r.json {
		return printJSON(io.out, res)
	}
	printResults(io.out, res)
	return nil
}

// waitEvaluation follows an evaluation to the end, drawing a bar over its
// questions unless quiet, and returns its results.
func waitEvaluation(ctx context.Context, c *client.Client, id string, io stdio, quiet bool) (*client.EvaluationResults, error) {
	var bar *progressBar
	show := func(st *client.EvaluationStatus) {
		if bar == nil {
			bar = newProgressBar(io.out, "evaluate")
		}
		detail := st.Progress
		if st.ETASeconds != nil && *st.ETASeconds > 0 {
			detail += "  ETA " + formatETA(secondsDuration(*st.ETASeconds))
		}
		bar.update("", fraction(int64(st.QuestionsCompleted), int64(st.TotalQuestions)), detail)
	}
	if quiet {
		show = nil
	}
	if err := c.WaitEvaluation(ctx, id, show); err != nil {
		return nil, err
	}
	if bar != nil {
		bar.done("", "done")
	}
	return c.EvaluationResults(ctx, id)
}

// evalShow prints an evaluation's results, or its progress while it runs.
func evalShow(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("eval show", "eval show ID [--json]", io)
	r.addFlags(fs, io)
	c, pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	st, err := c.EvaluationStatus(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("eval show: %w", err)
	}
	if st.Status == "PROCESSING" || st.Status == "PENDING" || st.Status == "FAILED" {
		if r.json {
			return printJSON(io.out, st)
		}
		fmt.Fprintf(io.out, "%s %s %s %s\n", st.EvaluationID, st.Status, st.Progress, st.Error)
		return nil
	}
	res, err := c.EvaluationResults(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("eval show: %w", err)
	}
	if r.json {
		return printJSON(io.out, res)
	}
	printResults(io.out, res)
	return nil
}

// printResults writes an evaluation's metrics: one column for a single
// model, the base and evaluated columns with the change for a comparison.
func printResults(w io.Writer, res *client.EvaluationResults) {
	fmt.Fprintf(w, "evaluation %s on %s\n", res.EvaluationID, res.BenchmarkID)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	if res.Comparison == nil {
		fmt.Fprintf(tw, "metric\t%s\t\n", res.ModelID)
		for _, k := range sortedMetricKeys(res.Metrics) {
			fmt.Fprintf(tw, "%s\t%.4g\t\n", k, res.Metrics[k])
		}
		tw.Flush()
		return
	}
	base, eval := res.ModelID, res.ModelID2
	if res.BaseModel != nil && res.EvalModel != nil {
		base, eval = res.BaseModel.ModelID, res.EvalModel.ModelID
	}
	fmt.Fprintf(tw, "metric\t%s\t%s\tchange %%\t\n", base, eval)
	for _, m := range res.Comparison.Metrics {
		fmt.Fprintf(tw, "%s\t%.4g\t%.4g\t%+.1f\t\n", m.Metric, m.Base, m.Evaluated, m.Improvement)
	}
	tw.Flush()
}

// sortedMetricKeys lists the headline metrics first, then the rest by
// name.
func sortedMetricKeys(m client.Metrics) []string {
	head := []string{"accuracy", "domain_violations", "uncertainty", "binary_correctness_mean", "answer_relevance_mean"}
	seen := map[string]bool{}
	var keys []string
	for _, k := range head {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

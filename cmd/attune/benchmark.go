package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"attune/client"
)

func init() {
	registerGroup("benchmark", "create, upload and show question/answer benchmarks on a server")
	registerSub("benchmark", "create", "generate a benchmark from documents", cmdFunc(benchmarkCreate))
	registerSub("benchmark", "upload", "upload a benchmark from a JSON file", cmdFunc(benchmarkUpload))
	registerSub("benchmark", "show", "show a benchmark's status and questions", cmdFunc(benchmarkShow))
	registerSub("benchmark", "list", "list the benchmarks on the server", cmdFunc(benchmarkList))
}

// benchmarkCreate starts generating a benchmark and, with --wait, waits
// until it is READY.
func benchmarkCreate(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("benchmark create", "benchmark create --docs ID,ID... [--questions N] [--wait]", io)
	r.addFlags(fs, io)
	docs := fs.String("docs", "", "comma-separated document ids")
	n := fs.Int("questions", 20, "number of questions")
	wait := fs.Bool("wait", false, "wait until the benchmark is READY")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	if *docs == "" {
		fs.Usage()
		return fmt.Errorf("benchmark create: --docs is required")
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	id, err := c.CreateBenchmark(ctx, splitList(*docs), *n)
	if err != nil {
		return fmt.Errorf("benchmark create: %w", err)
	}
	status := "PROCESSING"
	if *wait {
		if err := c.WaitBenchmark(ctx, id); err != nil {
			return fmt.Errorf("benchmark create: %w", err)
		}
		status = "READY"
	}
	if r.json {
		return printJSON(io.out, map[string]string{"benchmark_id": id, "status": status})
	}
	fmt.Fprintf(io.out, "%s %s\n", id, status)
	return nil
}

// benchmarkUpload uploads a JSON file of {question, answer} pairs.
func benchmarkUpload(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("benchmark upload", "benchmark upload FILE --docs ID,ID... [--name NAME] [--description TEXT]", io)
	r.addFlags(fs, io)
	docs := fs.String("docs", "", "comma-separated ids of the documents the questions are about")
	name := fs.String("name", "", "benchmark name (default: the file name)")
	desc := fs.String("description", "", "what the benchmark measures")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1); err != nil {
		return err
	}
	qs, err := readQuestions(pos[0])
	if err != nil {
		return fmt.Errorf("benchmark upload: %w", err)
	}
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(pos[0]), filepath.Ext(pos[0]))
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	b, err := c.UploadBenchmark(ctx, client.BenchmarkUpload{
		Name: *name, Description: *desc, DocumentIDs: splitList(*docs), Questions: qs,
	})
	if err != nil {
		return fmt.Errorf("benchmark upload: %w", err)
	}
	if r.json {
		return printJSON(io.out, b)
	}
	fmt.Fprintf(io.out, "%s %s: %d questions, %s\n", b.BenchmarkID, b.BenchmarkName, b.NumQuestions, b.Status)
	return nil
}

// readQuestions reads a benchmark file: a JSON array of question/answer
// objects.
func readQuestions(file string) ([]client.QA, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var qs []client.QA
	if err := json.Unmarshal(b, &qs); err != nil {
		return nil, fmt.Errorf("%s is not a JSON array of {\"question\", \"answer\"} objects: %w", file, err)
	}
	return qs, nil
}

// benchmarkShow prints a benchmark's status and its questions.
func benchmarkShow(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("benchmark show", "benchmark show ID [--json]", io)
	r.addFlags(fs, io)
	c, pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	st, err := c.BenchmarkStatus(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("benchmark show: %w", err)
	}
	if st.Status != "READY" {
		if r.json {
			return printJSON(io.out, st)
		}
		fmt.Fprintf(io.out, "%s %s: %s %s\n", st.BenchmarkID, st.BenchmarkName, st.Status, st.Error)
		return nil
	}
	data, err := c.BenchmarkData(ctx, pos[0])
	if err != nil {
		return fmt.Errorf("benchmark show: %w", err)
	}
	if r.json {
		return printJSON(io.out, data)
	}
	fmt.Fprintf(io.out, "%s %s: %s, %d questions (%s)\n", data.BenchmarkID, data.BenchmarkName,
		data.Status, data.NumQuestions, data.Metadata.Type)
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tQUESTION\tANSWER")
	for i, q := range data.Questions {
		num := q.QuestionNum
		if num == 0 {
			num = i + 1
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\n", num, oneLine(q.Question, 70), oneLine(q.Answer, 40))
	}
	return tw.Flush()
}

// benchmarkList prints the caller's benchmarks.
func benchmarkList(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("benchmark list", "benchmark list [--limit N] [--offset N]", io)
	r.addFlags(fs, io)
	page := pageFlags(fs)
	c, _, err := r.parse(fs, args, 0)
	if err != nil {
		return err
	}
	list, err := c.ListBenchmarks(ctx, *page)
	if err != nil {
		return fmt.Errorf("benchmark list: %w", err)
	}
	if r.json {
		return printJSON(io.out, list)
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCHMARK\tNAME\tQUESTIONS\tSTATUS")
	for _, b := range list.Benchmarks {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", b.ID, b.BenchmarkName, b.NumQuestions, b.Status)
	}
	return tw.Flush()
}

// oneLine flattens s to one line of at most n characters.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"attune"
	"attune/client"
	"attune/demo"
)

func init() {
	registerSub("bench", "align", "align a model on a corpus with its gold benchmark and print before/after", cmdFunc(benchAlign))
}

// benchAlignOptions are the flags of attune bench align.
type benchAlignOptions struct {
	corpus    string
	model     string
	dataDir   string
	benchmark string // "small" or "full"
	documents int
	questions int
	asJSON    bool
	// evalTokens bounds each answer of the evaluations, as attune serve's
	// --eval-max-tokens does.
	evalTokens int
	hp         client.Hyperparameters
	seed       int64
}

// alignBench is what one bench align run measured.
type alignBench struct {
	Corpus      string `json:"corpus"`
	Model       string `json:"model"`
	Documents   int    `json:"documents"`
	Questions   int    `json:"questions"`
	AlignmentID string `json:"alignment_id"`
	Status      string `json:"status"`

	Before benchSide `json:"before"`
	After  benchSide `json:"after"`

	TrainingSteps  int     `json:"training_steps"`
	TrainingLoss   float64 `json:"training_loss"`
	TrainingTokens int64   `json:"training_tokens"` // as /metrics counts them
	Seconds        float64 `json:"seconds"`         // the alignment, from start to EVALUATED
	TrainSeconds   float64 `json:"train_seconds"`   // its training stage

	Hyperparameters json.RawMessage `json:"hyperparameters"`
}

// benchSide is one model's metrics on the benchmark.
type benchSide struct {
	Accuracy         float64 `json:"accuracy"`
	AnswerRelevance  float64 `json:"answer_relevance"`
	DomainViolations float64 `json:"domain_violations"`
	Uncertainty      float64 `json:"uncertainty"`
}

// benchAlign runs one whole alignment through attune's real server, in
// this process on a temporary data directory: upload the corpus, upload
// its gold benchmark, align the model with it (the server evaluates the
// base model before training and the aligned one after), and print the
// before/after table.
func benchAlign(ctx context.Context, args []string, io stdio) error {
	o := &benchAlignOptions{}
	fs := newFlags("bench align", "bench align --model DIR [--corpus dict-elements|debian-faq|DIR] [--documents N] [--questions N] [--epochs E] [--lr X] [--rank R] [--json]", io)
	fs.StringVar(&o.corpus, "corpus", demo.DefaultCorpus, "corpus: a name under testdata/corpora, an embedded one, or a directory with documents/ and benchmark_small.json")
	fs.StringVar(&o.model, "model", "", "Hugging Face model directory to align (attune models init makes a random one)")
	fs.StringVar(&o.dataDir, "data-dir", "", "data directory to run in, kept afterwards (default: a temporary one, removed)")
	fs.StringVar(&o.benchmark, "benchmark", "small", "gold benchmark: small (benchmark_small.json) or full (benchmark.json)")
	fs.IntVar(&o.documents, "documents", 0, "use only the first N documents and the questions about them (0: all)")
	fs.IntVar(&o.questions, "questions", 0, "use only the first N benchmark questions (0: all)")
	fs.IntVar(&o.hp.Epochs, "epochs", 0, "training epochs (0: the server's default)")
	fs.Float64Var(&o.hp.LearningRate, "lr", 0, "learning rate (0: the server's default)")
	fs.IntVar(&o.hp.LoRARank, "rank", 0, "LoRA rank (0: the server's default)")
	fs.Float64Var(&o.hp.LoRAAlpha, "alpha", 0, "LoRA alpha (0: the server's default)")
	fs.IntVar(&o.hp.BatchSize, "batch-size", 0, "training batch size (0: the server's default)")
	fs.IntVar(&o.hp.MaxSeqLen, "max-seq-len", 0, "longest training sequence in tokens (0: the server's default)")
	fs.Int64Var(&o.seed, "seed", -1, "training seed (-1: the server's default)")
	fs.IntVar(&o.evalTokens, "eval-max-tokens", 128, "longest answer, in tokens, the evaluations let a model give (as attune serve's flag)")
	fs.BoolVar(&o.asJSON, "json", false, "print the result as JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	if o.model == "" {
		fs.Usage()
		return errors.New("bench align: --model is required")
	}
	if o.benchmark != "small" && o.benchmark != "full" {
		return fmt.Errorf("bench align: --benchmark is %q, want small or full", o.benchmark)
	}
	if o.seed >= 0 {
		o.hp.Seed = &o.seed
	}

	corpus, err := loadBenchCorpus(o)
	if err != nil {
		return fmt.Errorf("bench align: %w", err)
	}
	res, err := runAlignBench(ctx, o, corpus, io)
	if err != nil {
		return fmt.Errorf("bench align: %w", err)
	}
	if o.asJSON {
		return printJSON(io.out, res)
	}
	printAlignBench(io.out, res)
	return nil
}

// loadBenchCorpus reads the corpus o names with the gold benchmark it asks
// for, trimmed to its --documents and --questions.
func loadBenchCorpus(o *benchAlignOptions) (*demo.Corpus, error) {
	dir := o.corpus
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		dir = filepath.Join("testdata", "corpora", o.corpus)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			dir = "" // not on disk here: an embedded corpus
		}
	}
	if dir == "" {
		if o.benchmark == "full" || o.documents > 0 {
			return nil, fmt.Errorf("corpus %q is not on disk here (run from the repository root, or name its directory); the embedded copy has only its small benchmark", o.corpus)
		}
		c, err := demo.Load(o.corpus)
		if err != nil {
			return nil, err
		}
		return trimCorpus(c, 0, o.questions), nil
	}

	c, err := demo.Load(dir)
	if err != nil {
		return nil, err
	}
	if o.corpus != dir {
		c.Name = o.corpus
	}
	if o.benchmark == "full" {
		b, err := os.ReadFile(filepath.Join(dir, "benchmark.json"))
		if err != nil {
			return nil, err
		}
		c.Benchmark = nil
		if err := json.Unmarshal(b, &c.Benchmark); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "benchmark.json"), err)
		}
	}
	if o.documents > 0 && o.documents < len(c.Documents) {
		c.Documents = c.Documents[:o.documents]
		if c.Benchmark, err = questionsAbout(dir, c.Documents, c.Benchmark); err != nil {
			return nil, err
		}
		if len(c.Benchmark) == 0 {
			return nil, fmt.Errorf("no benchmark question of %s is about its first %d documents", c.Name, o.documents)
		}
	}
	return trimCorpus(c, 0, o.questions), nil
}

// questionsAbout keeps the questions of qs that the corpus's qa_full.json
// places in one of docs.
func questionsAbout(dir string, docs []demo.Document, qs []demo.QA) ([]demo.QA, error) {
	b, err := os.ReadFile(filepath.Join(dir, "qa_full.json"))
	if err != nil {
		return nil, fmt.Errorf("--documents needs the corpus's qa_full.json to know which questions are about which document: %w", err)
	}
	var full []struct {
		Question string `json:"question"`
		Document string `json:"document"`
	}
	if err := json.Unmarshal(b, &full); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "qa_full.json"), err)
	}
	kept := map[string]bool{}
	for _, d := range docs {
		kept[d.Name] = true
	}
	about := map[string]bool{}
	for _, q := range full {
		if kept[filepath.Base(q.Document)] {
			about[q.Question] = true
		}
	}
	var out []demo.QA
	for _, q := range qs {
		if about[q.Question] {
			out = append(out, q)
		}
	}
	return out, nil
}

// runAlignBench runs the alignment and gathers its measurements.
func runAlignBench(ctx context.Context, o *benchAlignOptions, corpus *demo.Corpus, io stdio) (*alignBench, error) {
	dataDir := o.dataDir
	if dataDir == "" {
		tmp, err := os.MkdirTemp("", "attune-bench-align-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dataDir = tmp
	}
	key, modelID, err := prepareAlignBench(ctx, dataDir, o.model)
	if err != nil {
		return nil, err
	}
	url, stop, err := startBenchServer(ctx, dataDir, o.evalTokens)
	if err != nil {
		return nil, fmt.Errorf("cannot start the server: %w", err)
	}
	defer stop()
	c := client.New(url, key)
	c.PollInterval = 200 * time.Millisecond
	progress := io.errw // the table or JSON alone goes to out

	fmt.Fprintf(progress, "uploading %d documents of %s\n", len(corpus.Documents), corpus.Name)
	files := make([]client.File, len(corpus.Documents))
	for i, d := range corpus.Documents {
		files[i] = client.File{Name: d.Name, Body: bytes.NewReader(d.Body)}
	}
	tasks, err := c.UploadDocuments(ctx, files, []string{corpus.Name})
	if err != nil {
		return nil, err
	}
	docs := make([]string, len(tasks))
	for i, task := range tasks {
		if docs[i], err = c.WaitDocument(ctx, task); err != nil {
			return nil, fmt.Errorf("%s: %w", files[i].Name, err)
		}
	}
	qs := make([]client.QA, len(corpus.Benchmark))
	for i, q := range corpus.Benchmark {
		qs[i] = client.QA{Question: q.Question, Answer: q.Answer}
	}
	b, err := c.UploadBenchmark(ctx, client.BenchmarkUpload{
		Name: corpus.Name + " gold", Description: "the corpus's gold questions",
		DocumentIDs: docs, Questions: qs,
	})
	if err != nil {
		return nil, err
	}

	hp := o.hp
	start := time.Now()
	id, err := c.CreateAlignment(ctx, client.AlignmentRequest{
		Name: "bench align " + corpus.Name, BaseModel: modelID, DocumentIDs: docs,
		BenchmarkID: b.BenchmarkID, Description: "made by attune bench align", Hyperparameters: &hp,
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "alignment %s: %d documents, %d questions\n", id, len(docs), b.NumQuestions)
	var trainStart, trainEnd time.Time
	stage := ""
	st, err := c.WaitAlignment(ctx, id, func(s *client.AlignmentStatus) {
		now := time.Now()
		if s.Data.Stage != stage {
			if stage == "training" {
				trainEnd = now
			}
			if s.Data.Stage == "training" {
				trainStart = now
			}
			stage = s.Data.Stage
			fmt.Fprintf(progress, "  %5.0fs %s\n", now.Sub(start).Seconds(), stage)
		}
	})
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	if trainEnd.IsZero() && !trainStart.IsZero() {
		trainEnd = time.Now()
	}
	res := &alignBench{
		Corpus: corpus.Name, Model: modelID, Documents: len(docs), Questions: b.NumQuestions,
		AlignmentID: id, Status: st.Status, Seconds: elapsed.Seconds(),
		TrainSeconds: trainEnd.Sub(trainStart).Seconds(), Hyperparameters: st.Data.Hyperparameters,
	}
	if st.Data.Training != nil {
		res.TrainingSteps, res.TrainingLoss = st.Data.Training.Step, st.Data.Training.Loss
	}
	if st.Data.EvaluationID == "" {
		return nil, fmt.Errorf("alignment %s ended %s without an evaluation: %s", id, st.Status, st.Data.Error)
	}
	ev, err := c.EvaluationResults(ctx, st.Data.EvaluationID)
	if err != nil {
		return nil, err
	}
	if ev.Baseline == nil || ev.Aligned == nil {
		return nil, fmt.Errorf("evaluation %s has no before/after comparison", st.Data.EvaluationID)
	}
	res.Before, res.After = sideOf(ev.Baseline.Metrics), sideOf(ev.Aligned.Metrics)
	if res.TrainingTokens, err = tokensTrained(ctx, url); err != nil {
		return nil, err
	}
	return res, nil
}

// startBenchServer starts attune's server, wired as attune serve wires it,
// in this process on a free local port, logging to bench.log in the data
// directory. It returns the server's URL and a function that shuts it down
// and waits until it has.
func startBenchServer(ctx context.Context, dataDir string, evalTokens int) (string, func(), error) {
	logf, err := os.OpenFile(filepath.Join(dataDir, "bench.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return "", nil, err
	}
	cfg := serveConfig{
		Addr: "127.0.0.1:0", DataDir: dataDir, ShutdownGrace: 30 * time.Second, EvalMaxTokens: evalTokens,
		Logger: slog.New(slog.NewTextHandler(logf, nil)),
	}
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, func(a string) { ready <- a }) }()
	select {
	case a := <-ready:
		return "http://" + a, func() { cancel(); <-done; logf.Close() }, nil
	case err := <-done:
		cancel()
		logf.Close()
		return "", nil, err
	}
}

// sideOf picks the table's four numbers out of one model's metrics.
func sideOf(m client.Metrics) benchSide {
	return benchSide{Accuracy: m["accuracy"], AnswerRelevance: m["answer_relevance_mean"],
		DomainViolations: m["domain_violations"], Uncertainty: m["uncertainty"]}
}

// prepareAlignBench creates the benchmark user's key and registers the
// model (linked, not copied) in a data directory.
func prepareAlignBench(ctx context.Context, dataDir, modelDir string) (key, modelID string, err error) {
	s, err := openStore(ctx, dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", "", err
	}
	key, _, err = attune.IssueAPIKey(ctx, s, "bench@localhost", attune.ScopeUser, "bench align")
	s.Close()
	if err != nil {
		return "", "", err
	}
	m, err := importModel(ctx, dataDir, modelDir, hubModelID(filepath.Base(filepath.Clean(modelDir))), "", true)
	if err != nil {
		return "", "", err
	}
	return key, m.ID, nil
}

// tokensTrained reads attune_tokens_trained_total off the server's
// /metrics.
func tokensTrained(ctx context.Context, baseURL string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot read /metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "attune_tokens_trained_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("/metrics has no attune_tokens_trained_total")
}

// printAlignBench writes the before/after table.
func printAlignBench(w io.Writer, r *alignBench) {
	fmt.Fprintf(w, "alignment %s of %s on %s: %d documents, %d gold questions, %s\n\n",
		r.AlignmentID, r.Model, r.Corpus, r.Documents, r.Questions, r.Status)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tbefore\tafter\t")
	fmt.Fprintf(tw, "accuracy\t%.3f\t%.3f\t\n", r.Before.Accuracy, r.After.Accuracy)
	fmt.Fprintf(tw, "answer relevance\t%.3f\t%.3f\t\n", r.Before.AnswerRelevance, r.After.AnswerRelevance)
	fmt.Fprintf(tw, "domain violations\t%g\t%g\t\n", r.Before.DomainViolations, r.After.DomainViolations)
	fmt.Fprintf(tw, "uncertainty\t%.3f\t%.3f\t\n", r.Before.Uncertainty, r.After.Uncertainty)
	tw.Flush()
	fmt.Fprintf(w, "\ntraining: %d steps, last loss %.3f, %d tokens, %.0fs; whole alignment %.0fs\nhyperparameters: %s\n",
		r.TrainingSteps, r.TrainingLoss, r.TrainingTokens, r.TrainSeconds, r.Seconds, r.Hyperparameters)
}

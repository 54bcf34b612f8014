package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"attune"
	"attune/client"
	"attune/demo"
	"attune/engine/qwen2"
	"attune/engine/safetensors"
)

func init() {
	register("demo", "upload, align, evaluate, deploy and chat, offline, on a bundled corpus", cmdFunc(runDemo))
}

// demoOptions are the demo's flags.
type demoOptions struct {
	dataDir   string
	modelDir  string
	modelID   string
	corpus    string
	addr      string
	documents int
	questions int
	ask       int
	generate  bool
	noServe   bool
	hp        client.Hyperparameters
}

// demoState is what the demo has done in a data directory, kept in
// demo.json there so that a rerun picks up where the last run stopped.
// It holds the demo user's API key, which the store keeps only hashed.
type demoState struct {
	Key         string `json:"key"`
	Model       string `json:"model"`
	BenchmarkID string `json:"benchmark_id,omitempty"`
	AlignmentID string `json:"alignment_id,omitempty"`
}

const (
	demoUser         = "demo@localhost"
	demoRandomModel  = "demo-small-random"
	demoRandomShape  = "small"
	demoStateFile    = "demo.json"
	demoAlignmentTag = "attune demo"
)

// runDemo runs the whole workflow a user of attune goes through, against a
// real server started in this process, and prints what it measured.
func runDemo(ctx context.Context, args []string, io stdio) error {
	o, err := parseDemoFlags(args, io)
	if err != nil {
		return err
	}
	corpus, err := demo.Load(o.corpus)
	if err != nil {
		return err
	}
	corpus = trimCorpus(corpus, o.documents, o.questions)

	// Local setup: the key and the base model go straight into the data
	// directory, as an operator would with attune keys and models import.
	st, err := prepareDemo(ctx, o, io)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	url, stop, err := startDemoServer(ctx, o.dataDir, o.addr)
	if err != nil {
		return fmt.Errorf("demo: cannot start the server (is another one using %s? choose another --addr): %w", o.addr, err)
	}
	defer stop()
	fmt.Fprintf(io.out, "server listening on %s\n\n", url)

	// Everything else goes through the HTTP API, as a client would.
	c := client.New(url, st.Key)
	c.PollInterval = 200 * time.Millisecond
	d := &demoRun{c: c, io: io, o: o, st: st, corpus: corpus}
	if err := d.run(ctx); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if o.noServe {
		return nil
	}
	printServing(io.out, url, st.Key, d.alignedModel)
	<-ctx.Done()
	return nil
}

// printServing tells the user how to reach the server the demo leaves
// running.
func printServing(w io.Writer, url, key, model string) {
	fmt.Fprintf(w, "\nattune is serving at %s (Ctrl-C stops it). Try:\n", url)
	fmt.Fprintf(w, "  export ATTUNE_URL=%s ATTUNE_KEY=%s\n", url, key)
	fmt.Fprintf(w, "  attune chat %s\n", model)
	fmt.Fprintf(w, "  curl -s $ATTUNE_URL/v1/chat/completions -H \"Authorization: Bearer $ATTUNE_KEY\" \\\n"+
		"    -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"model\": \"%s\", \"messages\": [{\"role\": \"user\", \"content\": \"What is the symbol for gold?\"}]}'\n", model)
}

// parseDemoFlags reads the demo's flags.
func parseDemoFlags(args []string, io stdio) (*demoOptions, error) {
	o := &demoOptions{}
	fs := newFlags("demo", "demo --data-dir DIR [--model DIR] [--corpus NAME|DIR] [--no-serve]", io)
	fs.StringVar(&o.dataDir, "data-dir", orEnv(io, "ATTUNE_DATA_DIR", filepath.Join("data", "demo")), "data directory; a rerun on the same one reuses what is done")
	fs.StringVar(&o.modelDir, "model", "", "a Hugging Face model directory, or the id of a model registered in the data directory, to align (default: a small random model the demo makes)")
	fs.StringVar(&o.modelID, "model-id", "", "id for --model (default: its directory name)")
	fs.StringVar(&o.corpus, "corpus", demo.DefaultCorpus, "embedded corpus name, or a directory with documents/ and benchmark_small.json")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address the server listens on")
	fs.IntVar(&o.documents, "documents", 0, "upload only the first N documents (0: all)")
	fs.IntVar(&o.questions, "questions", 0, "use only the first N benchmark questions (0: all)")
	fs.IntVar(&o.ask, "ask", 3, "benchmark questions to ask both models at the end")
	fs.BoolVar(&o.generate, "generate-benchmark", false, "generate the benchmark from the documents instead of uploading the corpus's gold one")
	fs.BoolVar(&o.noServe, "no-serve", false, "exit after the results instead of serving")
	fs.IntVar(&o.hp.Epochs, "epochs", 1, "training epochs")
	fs.IntVar(&o.hp.MaxSeqLen, "max-seq-len", 128, "longest training sequence in tokens")
	fs.IntVar(&o.hp.BatchSize, "batch-size", 0, "training batch size (0: the server's default)")
	fs.Float64Var(&o.hp.LearningRate, "learning-rate", 0, "learning rate (0: the server's default)")
	fs.IntVar(&o.hp.LoRARank, "lora-rank", 0, "LoRA rank (0: the server's default)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return nil, err
	}
	return o, nil
}

// trimCorpus keeps the first documents and questions, for quick runs.
func trimCorpus(c *demo.Corpus, documents, questions int) *demo.Corpus {
	if documents > 0 && documents < len(c.Documents) {
		c.Documents = c.Documents[:documents]
	}
	if questions > 0 && questions < len(c.Benchmark) {
		c.Benchmark = c.Benchmark[:questions]
	}
	return c
}

// prepareDemo loads the demo's state, creating the user's key and the base
// model when they are not there yet.
func prepareDemo(ctx context.Context, o *demoOptions, io stdio) (*demoState, error) {
	st, err := loadDemoState(o.dataDir)
	if err != nil {
		return nil, err
	}
	s, err := openStore(ctx, o.dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if st.Key == "" {
		st.Key, _, err = attune.IssueAPIKey(ctx, s, demoUser, attune.ScopeUser, "demo")
		if err != nil {
			s.Close()
			return nil, err
		}
		fmt.Fprintf(io.out, "created user %s and an API key\n", demoUser)
	}
	s.Close()

	model, err := demoModel(ctx, o, io)
	if err != nil {
		return nil, err
	}
	if model != st.Model {
		st.Model, st.AlignmentID = model, ""
	}
	return st, saveDemoState(o.dataDir, st)
}

// demoModel registers the base model the demo aligns, unless it is
// registered already, and returns its id.
func demoModel(ctx context.Context, o *demoOptions, io stdio) (string, error) {
	dir, id := o.modelDir, o.modelID
	if st, err := os.Stat(dir); dir != "" && (err != nil || !st.IsDir()) {
		dir, id = "", dir // not a directory: the id of a registered model
	}
	switch {
	case dir != "" && id == "":
		id = hubModelID(filepath.Base(filepath.Clean(dir)))
	case dir == "" && id == "":
		id = demoRandomModel
	}
	s, err := openStore(ctx, o.dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return "", err
	}
	_, err = s.BaseModel(ctx, id)
	s.Close()
	if err == nil {
		fmt.Fprintf(io.out, "base model %s is registered\n", id)
		return id, nil
	}

	if dir == "" && id != demoRandomModel {
		return "", fmt.Errorf("--model %s is neither a model directory nor a model registered in %s (see attune models list)", id, o.dataDir)
	}
	if dir == "" {
		dir = filepath.Join(o.dataDir, "downloads", demoRandomModel)
		if err := writeDemoModel(dir, io); err != nil {
			return "", err
		}
	}
	m, err := importModel(ctx, o.dataDir, dir, id, "", o.modelDir == "")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(io.out, "registered base model %s (%.1fM parameters)\n", m.ID, float64(m.Parameters)/1e6)
	return id, nil
}

// writeDemoModel writes the random-initialised model the demo uses when
// the user names none.
func writeDemoModel(dir string, io stdio) error {
	os.RemoveAll(dir) // a half-written one from an interrupted run
	cfg, err := qwen2.Shape(demoRandomShape)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.out, "writing a random-initialised %q model (%.1fM parameters) to %s\n",
		demoRandomShape, float64(qwen2.ParamCount(cfg))/1e6, dir)
	return qwen2.WriteRandom(dir, cfg, 1, safetensors.BF16)
}

func loadDemoState(dataDir string) (*demoState, error) {
	st := &demoState{}
	b, err := os.ReadFile(filepath.Join(dataDir, demoStateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); remove it to start the demo afresh", demoStateFile, err)
	}
	return st, nil
}

// saveDemoState writes the state atomically, readable by its owner only
// since it holds a key.
func saveDemoState(dataDir string, st *demoState) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := filepath.Join(dataDir, demoStateFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dataDir, demoStateFile))
}

// demoRun is the part of the demo that talks to the server.
type demoRun struct {
	c      *client.Client
	io     stdio
	o      *demoOptions
	st     *demoState
	corpus *demo.Corpus

	docs         []string
	questions    []client.QA // the benchmark's, as the server holds them
	alignedModel string
	metrics      *client.PerformanceMetrics
}

func (d *demoRun) run(ctx context.Context) error {
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"upload documents", d.upload},
		{"benchmark", d.benchmark},
		{"align", d.align},
		{"deploy", d.deploy},
		{"ask", d.askBoth},
		{"results", d.results},
	}
	for i, s := range steps {
		fmt.Fprintf(d.io.out, "[%d/%d] %s\n", i+1, len(steps), s.name)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// upload stores the corpus: documents the server holds already (from an
// earlier run) are reused, the rest go up in one request, and the bar
// follows them until each is stored.
func (d *demoRun) upload(ctx context.Context) error {
	have, err := d.existingDocuments(ctx)
	if err != nil {
		return err
	}
	var missing []client.File
	for _, doc := range d.corpus.Documents {
		if have[doc.Name] == "" {
			missing = append(missing, client.File{Name: doc.Name, Body: bytes.NewReader(doc.Body)})
		}
	}
	var tasks []string
	if len(missing) > 0 {
		if tasks, err = d.c.UploadDocuments(ctx, missing, []string{d.corpus.Name}); err != nil {
			return err
		}
	}

	bar := newProgressBar(d.io.out, "upload")
	total := len(d.corpus.Documents)
	for i, task := range tasks {
		id, err := d.c.WaitDocument(ctx, task)
		if err != nil {
			return fmt.Errorf("%s: %w", missing[i].Name, err)
		}
		have[missing[i].Name] = id
		done := total - len(tasks) + i + 1
		bar.update("", float64(done)/float64(total), fmt.Sprintf("%d/%d files", done, total))
	}
	for _, doc := range d.corpus.Documents {
		d.docs = append(d.docs, have[doc.Name])
	}
	bar.done("", fmt.Sprintf("%d documents (%d already there)", total, total-len(tasks)))
	return nil
}

// existingDocuments maps the names of the user's stored documents to
// their ids.
func (d *demoRun) existingDocuments(ctx context.Context) (map[string]string, error) {
	have := map[string]string{}
	for offset := 0; ; offset += 100 {
		page, err := d.c.ListDocuments(ctx, client.ListOptions{Limit: 100, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, doc := range page.Documents {
			if doc.Status == "READY" {
				have[doc.Filename] = doc.ID
			}
		}
		if len(page.Documents) == 0 || offset+len(page.Documents) >= page.Total {
			return have, nil
		}
	}
}

// benchmark reuses the benchmark of an earlier run, or uploads the
// corpus's gold one (or generates one with --generate-benchmark).
func (d *demoRun) benchmark(ctx context.Context) error {
	if id := d.st.BenchmarkID; id != "" {
		if b, err := d.c.BenchmarkStatus(ctx, id); err == nil && b.Status == "READY" {
			fmt.Fprintf(d.io.out, "benchmark %s from an earlier run\n", id)
			return d.loadQuestions(ctx)
		}
	}
	var id string
	if d.o.generate {
		var err error
		if id, err = d.c.CreateBenchmark(ctx, d.docs, len(d.corpus.Benchmark)); err != nil {
			return err
		}
		bar := newProgressBar(d.io.out, "benchmark")
		bar.update("generating", -1, "")
		if err := d.c.WaitBenchmark(ctx, id); err != nil {
			return err
		}
		bar.done("generated", id)
	} else {
		qs := make([]client.QA, len(d.corpus.Benchmark))
		for i, q := range d.corpus.Benchmark {
			qs[i] = client.QA{Question: q.Question, Answer: q.Answer}
		}
		b, err := d.c.UploadBenchmark(ctx, client.BenchmarkUpload{
			Name: d.corpus.Name + " gold", Description: "the corpus's gold questions, bundled with attune",
			DocumentIDs: d.docs, Questions: qs,
		})
		if err != nil {
			return err
		}
		id = b.BenchmarkID
		fmt.Fprintf(d.io.out, "uploaded benchmark %s: %d questions\n", id, b.NumQuestions)
	}
	d.st.BenchmarkID, d.st.AlignmentID = id, ""
	if err := saveDemoState(d.o.dataDir, d.st); err != nil {
		return err
	}
	return d.loadQuestions(ctx)
}

// loadQuestions reads the benchmark's questions back from the server, so
// that the demo asks what was stored, generated or uploaded.
func (d *demoRun) loadQuestions(ctx context.Context) error {
	b, err := d.c.BenchmarkData(ctx, d.st.BenchmarkID)
	if err != nil {
		return err
	}
	if len(b.Questions) == 0 {
		return fmt.Errorf("benchmark %s holds no questions", d.st.BenchmarkID)
	}
	d.questions = b.Questions
	return nil
}

// align follows the alignment of an earlier run when it finished or still
// runs, and starts one otherwise.
func (d *demoRun) align(ctx context.Context) error {
	if id := d.st.AlignmentID; id != "" {
		a, err := d.c.AlignmentStatus(ctx, id)
		if err == nil && a.Status != "FAILED" && a.Status != "STOPPED" {
			fmt.Fprintf(d.io.out, "alignment %s from an earlier run (%s)\n", id, a.Status)
			return d.follow(ctx, id)
		}
	}
	hp := d.o.hp
	id, err := d.c.CreateAlignment(ctx, client.AlignmentRequest{
		Name: demoAlignmentTag + " " + d.corpus.Name, BaseModel: d.st.Model,
		DocumentIDs: d.docs, BenchmarkID: d.st.BenchmarkID,
		Description:     "made by attune demo",
		Hyperparameters: &hp,
	})
	if err != nil {
		return err
	}
	d.st.AlignmentID = id
	if err := saveDemoState(d.o.dataDir, d.st); err != nil {
		return err
	}
	fmt.Fprintf(d.io.out, "alignment %s started\n", id)
	return d.follow(ctx, id)
}

// follow waits for the alignment with a bar per stage.
func (d *demoRun) follow(ctx context.Context, id string) error {
	st, err := followAlignment(ctx, d.c, id, d.io, false)
	if err != nil {
		return err
	}
	if st.Data.ModelID == "" {
		return fmt.Errorf("alignment %s finished (%s) without a model", id, st.Status)
	}
	d.alignedModel, d.metrics = st.Data.ModelID, st.Data.PerformanceMetrics
	return nil
}

// deploy deploys the aligned model unless it is deployed already.
func (d *demoRun) deploy(ctx context.Context) error {
	models, err := d.c.AlignedModels(ctx)
	if err != nil {
		return err
	}
	for _, m := range models {
		if m.ID == d.alignedModel && m.DeploymentStatus == "DEPLOYED" {
			fmt.Fprintf(d.io.out, "%s is deployed\n", m.ID)
			return nil
		}
	}
	bar := newProgressBar(d.io.out, "deploy")
	bar.update(d.alignedModel, -1, "")
	err = d.c.Deploy(ctx, d.alignedModel)
	if err != nil && client.StatusCode(err) != 409 {
		return err
	}
	if err := d.c.WaitDeployed(ctx, d.alignedModel); err != nil {
		return err
	}
	bar.done(d.alignedModel, "DEPLOYED")
	return nil
}

// askBoth asks the base and the aligned model the first benchmark
// questions, greedily, and prints the answers side by side.
func (d *demoRun) askBoth(ctx context.Context) error {
	n := min(d.o.ask, len(d.questions))
	for i, q := range d.questions[:n] {
		base, err := d.answer(ctx, d.st.Model, q.Question)
		if err != nil {
			return err
		}
		aligned, err := d.answer(ctx, d.alignedModel, q.Question)
		if err != nil {
			return err
		}
		fmt.Fprintf(d.io.out, "\nQ%d  %s\n", i+1, q.Question)
		fmt.Fprintf(d.io.out, "    reference: %s\n", q.Answer)
		fmt.Fprintf(d.io.out, "    base:      %s\n", quoteAnswer(base))
		fmt.Fprintf(d.io.out, "    aligned:   %s\n", quoteAnswer(aligned))
	}
	fmt.Fprintln(d.io.out)
	return nil
}

// answer asks model one question with greedy decoding.
func (d *demoRun) answer(ctx context.Context, model, question string) (string, error) {
	zero := 0.0
	resp, err := d.c.Chat(ctx, client.ChatRequest{
		Model: model, MaxTokens: 32, Temperature: &zero,
		Messages: []client.Message{{Role: "user", Content: question}},
	})
	if err != nil {
		return "", fmt.Errorf("asking %s: %w", model, err)
	}
	return resp.Text(), nil
}

// quoteAnswer shows an answer on one line, quoted and escaped, so that an
// empty or odd answer (a random model's newlines) is visible as what it is.
func quoteAnswer(s string) string {
	if r := []rune(s); len(r) > 60 {
		return fmt.Sprintf("%q…", string(r[:60]))
	}
	return fmt.Sprintf("%q", s)
}

// results prints the before/after table the alignment measured, and says
// plainly what the numbers can and cannot mean.
func (d *demoRun) results(ctx context.Context) error {
	m := d.metrics
	if m == nil {
		a, err := d.c.AlignmentStatus(ctx, d.st.AlignmentID)
		if err != nil {
			return err
		}
		m = a.Data.PerformanceMetrics
	}
	if m == nil {
		fmt.Fprintf(d.io.out, "alignment %s finished without before/after measurements: the server\n"+
			"ran no evaluation, so there is no table to show.\n", d.st.AlignmentID)
	} else {
		printMetricsTable(d.io.out, d.st.Model, d.alignedModel, len(d.questions), m)
	}
	if d.o.modelDir == "" {
		fmt.Fprint(d.io.out, randomModelNote)
	}
	return nil
}

// printMetricsTable writes the before/after table.
func printMetricsTable(w io.Writer, base, aligned string, questions int, m *client.PerformanceMetrics) {
	fmt.Fprintf(w, "before/after on %d benchmark questions (base %s, aligned %s):\n\n", questions, base, aligned)
	fmt.Fprintf(w, "  %-18s %8s %8s\n", "metric", "before", "after")
	fmt.Fprintf(w, "  %-18s %8.2f %8.2f\n", "accuracy", m.AccuracyBefore, m.AccuracyAfter)
	fmt.Fprintf(w, "  %-18s %8g %8g\n", "domain violations", m.DomainViolationsBefore, m.DomainViolationsAfter)
	fmt.Fprintf(w, "  %-18s %8.2f %8.2f\n", "uncertainty", m.UncertaintyBefore, m.UncertaintyAfter)
	fmt.Fprintln(w, "\naccuracy: share of answers judged correct; domain violations: wrong answers\n"+
		"given with confidence >= 0.5; uncertainty: mean of (1 - confidence).")
}

const randomModelNote = `
Note: the base model here is randomly initialised, so it knows no language
and its answers are noise, before and after. The run shows every stage of
the pipeline working on real weights and gradients, not a useful model.
For that, align a real one:
  attune models pull Qwen/Qwen2.5-0.5B-Instruct --data-dir DATA   (online), then
  attune demo --data-dir DATA --model qwen-v2p5-0p5b-instruct
or give --model a Hugging Face directory you downloaded.
`

// startDemoServer starts attune's server (the same wiring as attune
// serve) in this process, listening on addr, with its log written to
// demo.log in the data directory so that the demo's own output stays
// readable. It returns the server's URL and a function that shuts it down
// and waits until it has.
func startDemoServer(ctx context.Context, dataDir, addr string) (string, func(), error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dataDir, "demo.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return "", nil, err
	}
	cfg := serveConfig{
		Addr: addr, DataDir: dataDir, ShutdownGrace: 30 * time.Second,
		Logger: slog.New(slog.NewTextHandler(logf, nil)),
	}
	ctx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- runServer(ctx, cfg, func(a string) { ready <- a }) }()
	stop := func() {
		cancel()
		<-done
		logf.Close()
	}
	select {
	case a := <-ready:
		return "http://" + a, stop, nil
	case err := <-done:
		cancel()
		logf.Close()
		return "", nil, err
	}
}

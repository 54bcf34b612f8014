package jobs

import (
	"context"
	"time"

	"attune"
	"attune/ingest"
	"attune/synth"

	"github.com/riverqueue/river"
)

// benchmarkWorker generates a benchmark's questions from its documents.
type benchmarkWorker struct {
	river.WorkerDefaults[BenchmarkArgs]
	c *Client
}

// Timeout bounds one generation; an LLM-backed generator is the slow case.
func (w *benchmarkWorker) Timeout(*river.Job[BenchmarkArgs]) time.Duration { return 2 * time.Hour }

func (w *benchmarkWorker) Work(ctx context.Context, job *river.Job[BenchmarkArgs]) error {
	c, a := w.c, job.Args
	err := c.generateBenchmark(ctx, a.Owner, a.BenchmarkID)
	return c.outcome(ctx, job.JobRow, err, func(msg string) error {
		_, err := c.deps.Store.UpdateBenchmark(context.WithoutCancel(ctx), a.Owner, a.BenchmarkID,
			func(b *attune.Benchmark) error {
				now := c.cfg.Now().UTC()
				b.Status, b.Error, b.EndedAt = attune.StatusFailed, msg, &now
				return nil
			})
		return err
	})
}

// generateBenchmark does the work of a benchmark job.
func (c *Client) generateBenchmark(ctx context.Context, owner, id string) error {
	st := c.deps.Store
	b, err := st.Benchmark(ctx, owner, id)
	if attune.ErrorKind(err) == attune.KindNotFound {
		return nil
	}
	if err != nil || b.Status != attune.StatusProcessing {
		return err
	}
	if c.deps.Generator == nil {
		return unavailable("benchmark generation")
	}
	start := c.cfg.Now().UTC()
	if _, err := st.UpdateBenchmark(ctx, owner, id, func(b *attune.Benchmark) error {
		b.StartedAt = &start
		return nil
	}); err != nil {
		return err
	}

	qs, err := c.questions(ctx, owner, b.DocumentIDs, b.NumQuestions, b.CreatedAt.UnixNano())
	if err != nil {
		return err
	}
	_, err = st.UpdateBenchmark(ctx, owner, id, func(b *attune.Benchmark) error {
		end := c.cfg.Now().UTC()
		b.Status, b.Error, b.Questions, b.NumQuestions, b.EndedAt = attune.StatusReady, "", qs, len(qs), &end
		return nil
	})
	if err == nil {
		c.log.Info("benchmark generated", "benchmark_id", id, "questions", len(qs))
	}
	return err
}

// questions generates n questions about the owner's documents.
func (c *Client) questions(ctx context.Context, owner string, docIDs []string, n int, seed int64) ([]attune.Question, error) {
	docs, err := c.documentTexts(ctx, owner, docIDs)
	if err != nil {
		return nil, err
	}
	qs, err := c.deps.Generator.Generate(ctx, docs, n, seed)
	if err != nil {
		return nil, err
	}
	if len(qs) == 0 {
		return nil, attune.Errorf(attune.KindInvalid,
			"no question could be drawn from the documents; upload a benchmark with POST /api/v3/benchmark/upload instead")
	}
	for i := range qs {
		qs[i].QuestionNum = i + 1
	}
	return qs, nil
}

// Extractive is the real BenchmarkGenerator that needs no model: the
// documents are cut into chunks as ingestion cuts them, and synth's
// extractive generator reads each pair off one chunk.
type Extractive struct{}

// Generate writes up to n questions about docs.
func (Extractive) Generate(ctx context.Context, docs []DocText, n int, seed int64) ([]attune.Question, error) {
	var chunks []ingest.Chunk
	for _, d := range docs {
		doc := &ingest.Document{Format: ingest.FormatOf(d.Filename), Text: d.Text}
		chunks = append(chunks, ingest.Split(d.ID, doc, ingest.ChunkOptions{})...)
	}
	pairs, err := synth.Extractive{Seed: uint64(seed)}.Generate(ctx, chunks, n)
	if err != nil {
		return nil, err
	}
	qs := make([]attune.Question, len(pairs))
	for i, p := range pairs {
		qs[i] = attune.Question{QuestionNum: i + 1, Question: p.Question, Answer: p.Answer}
	}
	return qs, nil
}

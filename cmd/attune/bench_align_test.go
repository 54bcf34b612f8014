package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"attune/engine/qwen2"
)

// TestBenchAlignLearns aligns a small random-initialised model on three
// element documents (and the "other entries" one) through the real server,
// with the 15 gold questions about them as the benchmark, and checks that
// the alignment taught it something measurable: clearly more questions
// answered right and answers given with far more confidence.
//
// The training set answers fact questions with sentences that restate the
// key ("The atomic number of Helium is 2."), which a random base learns in
// a few hundred steps; at the time of writing accuracy rises 0 -> 4/15 and
// uncertainty 0.995 -> 0.32, training loss ends near 0.7. What it does not
// learn in so few steps is to copy the element the question names into
// its answer: it tends to name one element for every question, so most of
// its confident answers are about the wrong element, and domain violations
// (wrong answers given with confidence >= 0.5) rise from 0, when it was
// confident of nothing, to most of the questions. The benchmark questions
// themselves are held out of training, as in every alignment.
//
// The random model's final norm is scaled by the initialiser
// (qwen2.FinalNormScale): without it no hidden state could give any token
// more than about 0.2% of the probability, and LoRA, which trains neither
// the norm nor the embeddings, could not raise confidence whatever it did.
func TestBenchAlignLearns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model for minutes; skipped with -short")
	}
	model := filepath.Join(t.TempDir(), "small-random")
	if err := qwen2.InitRandom(model, "small", 1); err != nil {
		t.Fatal(err)
	}

	seed := int64(7)
	o := &benchAlignOptions{
		corpus: filepath.Join("..", "..", "testdata", "corpora", "dict-elements"), model: model,
		benchmark: "full", documents: 4, seed: seed, evalTokens: 24,
	}
	o.hp.Epochs, o.hp.LearningRate, o.hp.LoRARank, o.hp.LoRAAlpha = 8, 3e-3, 16, 32
	o.hp.BatchSize, o.hp.MaxSeqLen, o.hp.Seed = 2, 128, &seed
	corpus, err := loadBenchCorpus(o)
	if err != nil {
		t.Fatal(err)
	}
	io, _, errw := testStdio(nil, "")
	res, err := runAlignBench(context.Background(), o, corpus, io)
	if err != nil {
		t.Fatalf("bench align: %v\nprogress:\n%s", err, errw)
	}
	var table strings.Builder
	printAlignBench(&table, res)
	t.Logf("\n%s", &table)

	checks := []struct {
		name   string
		failed bool
	}{
		{"status is READY", res.Status != "READY"},
		{"accuracy before is at most 0.1", res.Before.Accuracy > 0.1},
		// Accuracies are shares of res.Questions; 0.5 absorbs rounding.
		{"at least three more questions answered right", (res.After.Accuracy-res.Before.Accuracy)*float64(res.Questions) < 2.5},
		{"uncertainty falls by at least 0.5", res.Before.Uncertainty-res.After.Uncertainty < 0.5},
		{"the last training loss is under 1.5", res.TrainingLoss >= 1.5},
		{"answer relevance rises", res.After.AnswerRelevance <= res.Before.AnswerRelevance},
		{"tokens were trained", res.TrainingTokens <= 0 || res.TrainingSteps <= 0},
	}
	for _, c := range checks {
		if c.failed {
			t.Errorf("want %s:\n%s", c.name, &table)
		}
	}
}

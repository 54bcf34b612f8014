package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs the README's demo on a fresh data directory without
// network, then runs it again to see it reuse what is done. To keep the
// package's tests short it is cut down to two documents and questions and
// aligns the tiny reference model (--model, as the README shows for a
// user's own model) instead of making the 43M-parameter random one, whose
// training costs eight times as much a token.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--no-serve", "--addr", "127.0.0.1:0", "--model", tinyModelDir,
		"--documents", "2", "--questions", "2", "--ask", "2", "--epochs", "1", "--max-seq-len", "32"}
	io, out, errw := testStdio(nil, "")
	if err := runDemo(context.Background(), args, io); err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out, errw)
	}
	got := out.String()
	contains(t, "demo output", got,
		"created user demo@localhost and an API key",
		"registered base model qwen-v2-tiny",
		"upload 100%", "2 documents (0 already there)",
		"uploaded benchmark benchmark_", "2 questions",
		"alignment alignment_", "align training", "align evaluation", "align ready 100%", "DEPLOYED",
		"before/after on 2 benchmark questions")

	// Two questions, each with the reference and both models' answers.
	answers := regexp.MustCompile(`(?m)^Q(\d)  (.+)\n    reference: (.+)\n    base:      "(.*)"…?\n    aligned:   "(.*)"…?$`)
	if m := answers.FindAllStringSubmatch(got, -1); len(m) != 2 || m[0][3] != "Pu" {
		t.Errorf("answers: %d found (first %q), want 2 starting with the plutonium question:\n%s", len(m), m, got)
	}

	// The before/after table, every number in range: shares and
	// uncertainty in 0..1, violations a count of at most the questions.
	table := regexp.MustCompile(`(?m)^  accuracy +(0\.\d\d|1\.00) +(0\.\d\d|1\.00)\n  domain violations +[0-2] +[0-2]\n  uncertainty +(0\.\d\d|1\.00) +(0\.\d\d|1\.00)$`)
	if !table.MatchString(got) {
		t.Errorf("no before/after table with accuracy, domain violations and uncertainty in range:\n%s", got)
	}

	// A rerun reuses the key, model, documents, benchmark and alignment.
	// It names the model by its registered id this time.
	for i, a := range args {
		if a == tinyModelDir {
			args[i] = "qwen-v2-tiny"
		}
	}
	io2, out2, errw2 := testStdio(nil, "")
	if err := runDemo(context.Background(), args, io2); err != nil {
		t.Fatalf("demo rerun: %v\nstdout:\n%s\nstderr:\n%s", err, out2, errw2)
	}
	contains(t, "rerun output", out2.String(),
		"base model qwen-v2-tiny is registered", "2 documents (2 already there)",
		"from an earlier run", "is deployed", "Q2  ", "before/after on 2 benchmark questions")
	if strings.Contains(out2.String(), "created user") || strings.Contains(out2.String(), "started") {
		t.Errorf("rerun redid finished work:\n%s", out2)
	}
}

func TestDemoUnknownModel(t *testing.T) {
	dir := t.TempDir()
	io, _, _ := testStdio(nil, "")
	err := runDemo(context.Background(), []string{"--data-dir", dir, "--model", "no-such-model", "--no-serve"}, io)
	want := "--model no-such-model is neither a model directory nor a model registered in " + dir
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}

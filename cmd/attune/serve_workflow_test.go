package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"attune/api"
	"attune/client"
)

// TestServeWorkflow walks NuGen's workflow as a client does, through the
// typed client against the real server: upload documents and wait for
// them, generate a benchmark and upload one, align the tiny model on the
// documents with the uploaded benchmark and wait for READY, deploy, chat
// plainly and streaming, evaluate, undeploy.
func TestServeWorkflow(t *testing.T) {
	ts := startServer(t, api.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := client.New(ts.url, ts.alice)
	c.PollInterval = 20 * time.Millisecond

	// Documents.
	corpus := filepath.Join("..", "..", "testdata", "corpora", "dict-elements", "documents")
	var files []client.File
	for _, name := range []string{"001-hydrogen.txt", "002-helium.txt"} {
		f, err := os.Open(filepath.Join(corpus, name))
		must(t, err)
		defer f.Close()
		files = append(files, client.File{Name: name, Body: f})
	}
	tasks, err := c.UploadDocuments(ctx, files, []string{"elements"})
	must(t, err)
	var docs []string
	for _, task := range tasks {
		id, err := c.WaitDocument(ctx, task)
		must(t, err)
		docs = append(docs, id)
	}
	list, err := c.ListDocuments(ctx, client.ListOptions{})
	must(t, err)
	if list.Total != 2 {
		t.Fatalf("document list total %d, want 2", list.Total)
	}

	// Benchmarks: one generated from the documents, one uploaded.
	genID, err := c.CreateBenchmark(ctx, docs, 4)
	must(t, err)
	must(t, c.WaitBenchmark(ctx, genID))
	gen, err := c.BenchmarkData(ctx, genID)
	must(t, err)
	if len(gen.Questions) == 0 {
		t.Fatalf("generated benchmark has no questions")
	}
	up, err := c.UploadBenchmark(ctx, client.BenchmarkUpload{
		Name: "elements", DocumentIDs: docs,
		Questions: []client.QA{
			{Question: "What is the chemical symbol for hydrogen?", Answer: "H"},
			{Question: "What is the atomic number of helium?", Answer: "2"},
		},
	})
	must(t, err)

	// Alignment, on one document with settings small enough for a test.
	seed := int64(3)
	alignID, err := c.CreateAlignment(ctx, client.AlignmentRequest{
		Name: "elements", BaseModel: serveBase, DocumentIDs: docs[:1], BenchmarkID: up.BenchmarkID,
		Hyperparameters: &client.Hyperparameters{Epochs: 1, BatchSize: 4, MaxSeqLen: 32, LoRARank: 4, LearningRate: 1e-3, Seed: &seed},
	})
	must(t, err)
	// Just queued, the alignment's job waits first in line or runs.
	queued := ts.call("GET", "/api/v3/alignment-projects/"+alignID+"/status", ts.alice, nil).want(t, 200, "status with queue details")
	if p := queued.get("queue_position"); p != 0.0 && p != 1.0 {
		t.Errorf("queue_position of a just-queued alignment is %v, want 0 or 1: %s", p, queued.raw)
	}
	st, err := c.WaitAlignment(ctx, alignID, nil)
	must(t, err)
	if st.Status != "READY" {
		t.Fatalf("alignment ended %s: %+v", st.Status, st.Data)
	}
	if p := ts.call("GET", "/api/v3/alignment-projects/"+alignID+"/status", ts.alice, nil).get("queue_position"); p != nil {
		t.Errorf("queue_position of a READY alignment is %v, want null", p)
	}
	raw := ts.call("GET", "/api/v3/alignment-project/status/"+alignID, ts.alice, nil).want(t, 200, "status")
	if raw.get("gpu_training_completed") != true || raw.get("data.progress") != 100.0 || raw.str("data.model_id") == "" {
		t.Errorf("status of a READY alignment: %s", raw.raw)
	}
	modelID := raw.str("data.model_id")
	if steps, _ := raw.get("data.training.step").(float64); steps < 1 {
		t.Errorf("READY after %v training steps", raw.get("data.training.step"))
	}
	m := ts.call("GET", "/metrics", "", nil)
	if bytes.Contains(m.raw, []byte("attune_tokens_trained_total 0\n")) {
		t.Errorf("/metrics counts no tokens trained after training")
	}

	// Deploy and chat.
	must(t, c.Deploy(ctx, modelID))
	waitTask(t, ctx, func() (string, error) {
		task, err := c.DeployStatus(ctx, modelID)
		if err != nil {
			return "", err
		}
		return task.Status, nil
	})
	if dep := ts.call("GET", "/api/v3/models/"+modelID+"/deployment/status", ts.alice, nil).want(t, 200, "deploy status with queue details"); dep.get("queue_position") != nil || dep.str("status") != "COMPLETED" {
		t.Errorf("a finished deploy's status: %s, want COMPLETED with queue_position null", dep.raw)
	}
	ans, err := c.Chat(ctx, client.ChatRequest{Model: modelID, Messages: []client.Message{{Role: "user", Content: "What is hydrogen?"}}, MaxTokens: 5})
	must(t, err)
	if len(ans.Choices) != 1 || ans.Usage.CompletionTokens < 1 {
		t.Errorf("chat answer: %+v", ans)
	}
	stream, err := c.ChatStream(ctx, client.ChatRequest{Model: modelID, Messages: []client.Message{{Role: "user", Content: "What is helium?"}}, MaxTokens: 5})
	must(t, err)
	var text strings.Builder
	for stream.Next() {
		for _, ch := range stream.Chunk().Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	must(t, stream.Err())
	if stream.Timing() == nil || stream.Usage() == nil {
		t.Errorf("stream without timing or usage")
	}
	stream.Close()

	// Evaluate the aligned model against the base on the benchmark.
	evalID, err := c.CreateEvaluation(ctx, client.EvaluationRequest{ModelID: serveBase, ModelID2: modelID, BenchmarkID: up.BenchmarkID})
	must(t, err)
	ev := ts.poll("/api/v3/evaluations/"+evalID+"/status", ts.alice, 2*time.Minute, func(a answer) bool {
		return a.str("status") != "PROCESSING"
	})
	ts.call("GET", "/api/v3/evaluations/"+evalID+"/status", ts.bob, nil).want(t, 404, "another user's evaluation")
	if ev.str("status") != "READY" {
		t.Fatalf("evaluation ended %s: %s", ev.str("status"), ev.raw)
	}
	res := ts.call("GET", "/api/v3/evaluations/"+evalID+"/results", ts.alice, nil).want(t, 200, "evaluation results")
	if res.str("method") != "eval-compare" || res.get("comparison.metrics") == nil || res.get("detailed_results") != nil {
		t.Errorf("compare results: %s", res.raw)
	}
	dl := ts.call("GET", "/api/v3/evaluations/"+evalID+"/download", ts.alice, nil).want(t, 200, "evaluation download")
	if rows, _ := dl.get("detailed_results").([]any); len(rows) == 0 || !strings.Contains(dl.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("download without detailed results or as no attachment: %s", dl.raw)
	}
	if raw.get("data.performance_metrics") == nil || raw.str("data.evaluation_id") == "" {
		t.Errorf("a READY alignment with a benchmark has no performance metrics or evaluation id: %s", raw.raw)
	}

	// Undeploy.
	must(t, c.Undeploy(ctx, modelID))
	waitTask(t, ctx, func() (string, error) {
		task, err := c.UndeployStatus(ctx, modelID)
		if err != nil {
			return "", err
		}
		return task.Status, nil
	})
	_, err = c.Chat(ctx, client.ChatRequest{Model: modelID, Messages: []client.Message{{Role: "user", Content: "Hi"}}, MaxTokens: 2})
	if client.StatusCode(err) != 404 {
		t.Errorf("chat after undeploy: %v, want a 404", err)
	}

	// The adapter can be downloaded in PEFT layout.
	a := ts.call("GET", "/api/v3/models/aligned/"+modelID+"/adapter", ts.alice, nil).want(t, 200, "adapter download")
	if !strings.Contains(string(a.raw[:min(len(a.raw), 2048)]), "adapter_config.json") {
		t.Errorf("adapter tar does not start with adapter_config.json")
	}
}

// waitTask polls a deploy or undeploy task until it ends and fails the
// test unless it COMPLETED.
func waitTask(t *testing.T, ctx context.Context, status func() (string, error)) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s, err := status()
		must(t, err)
		switch s {
		case "COMPLETED":
			return
		case "FAILED":
			t.Fatalf("task FAILED")
		}
		select {
		case <-ctx.Done():
			t.Fatalf("task still %s: %v", s, ctx.Err())
		case <-tick.C:
		}
	}
}

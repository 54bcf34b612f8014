// Package storetest is the conformance suite for attune.Store: every
// implementation runs it against a real database, so that they all behave
// alike (owner scoping, error kinds, transactions, pagination).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"attune"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Clock is the fixed time a suite's stores must stamp records with: the
// newStore function passed to Run must give its store a clock that returns
// Clock, so that the suite can compare timestamps exactly.
var Clock = time.Date(2026, 12, 3, 15, 4, 5, 123456789, time.UTC)

// Run runs the suite. newStore returns an empty store whose clock returns
// Clock; it is called once per subtest and should clean up with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) attune.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s attune.Store)
	}{
		{"Users", testUsers},
		{"APIKeys", testAPIKeys},
		{"Uploads", testUploads},
		{"DocumentScoping", testDocumentScoping},
		{"DocumentPages", testDocumentPages},
		{"DocumentDelete", testDocumentDelete},
		{"Benchmarks", testBenchmarks},
		{"Alignments", testAlignments},
		{"AlignmentDelete", testAlignmentDelete},
		{"Deployment", testDeployment},
		{"Evaluations", testEvaluations},
		{"UnfinishedWork", testUnfinishedWork},
		{"InTx", testInTx},
		{"BaseModels", testBaseModels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newStore(t))
		})
	}
}

// opts compares records read back with those written: empty and nil
// slices are the same, times compare by instant.
var opts = cmp.Options{cmpopts.EquateEmpty()}

// wantKind fails the test unless err is an attune.Error of kind want.
func wantKind(t *testing.T, err error, want attune.Kind, what string) {
	t.Helper()
	if got := attune.ErrorKind(err); err == nil || got != want {
		t.Fatalf("%s: got error %v (kind %v), want kind %v", what, err, got, want)
	}
}

// must fails the test on err.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// user makes a user with the given email.
func user(t *testing.T, s attune.Store, email string) attune.User {
	t.Helper()
	u, err := s.EnsureUser(context.Background(), email)
	must(t, err, "EnsureUser")
	return u
}

// document stores a document of owner with the given filename and status.
func document(t *testing.T, s attune.Store, owner, filename string, status attune.Status) attune.Document {
	t.Helper()
	d, _ := upload(t, s, owner, filename, status)
	return d
}

// upload stores a document and its upload task.
func upload(t *testing.T, s attune.Store, owner, filename string, status attune.Status) (attune.Document, attune.UploadTask) {
	t.Helper()
	d := attune.Document{
		ID: attune.NewID(attune.PrefixDocument), OwnerID: owner, Filename: filename,
		Type: "md", Size: 42, SHA256: fmt.Sprintf("%064x", len(filename)),
		Categories: []string{"faq"}, Status: status,
	}
	task := attune.UploadTask{ID: attune.NewID(""), OwnerID: owner, Filename: filename, Status: status}
	must(t, s.CreateUpload(context.Background(), &task, &d), "CreateUpload")
	return d, task
}

// baseModel stores an alignment-ready base model.
func baseModel(t *testing.T, s attune.Store, id string) attune.BaseModel {
	t.Helper()
	m := attune.BaseModel{ID: id, Description: "tiny", Path: "/models/" + id,
		Architecture: "qwen2", Parameters: 1000, ContextLength: 512, AlignmentReady: true}
	must(t, s.CreateBaseModel(context.Background(), &m), "CreateBaseModel")
	return m
}

// benchmark stores a READY uploaded benchmark over docs.
func benchmark(t *testing.T, s attune.Store, owner string, docs ...string) attune.Benchmark {
	t.Helper()
	b := attune.Benchmark{
		ID: attune.NewID(attune.PrefixBenchmark), OwnerID: owner, Name: "faq",
		Type: attune.BenchmarkUploaded, DocumentIDs: docs, NumQuestions: 2,
		Questions: []attune.Question{
			{QuestionNum: 1, Question: "What is Debian?", Answer: "An operating system."},
			{QuestionNum: 2, Question: "Who makes it?", Answer: "Volunteers."},
		},
		Status: attune.StatusReady,
	}
	must(t, s.CreateBenchmark(context.Background(), &b), "CreateBenchmark")
	return b
}

// alignment stores a QUEUED alignment of owner over docs with its model.
func alignment(t *testing.T, s attune.Store, owner, base string, docs ...string) (attune.Alignment, attune.AlignedModel) {
	t.Helper()
	a := attune.Alignment{
		ID: attune.NewID(attune.PrefixAlignment), OwnerID: owner, Name: "faq",
		BaseModel: base, DocumentIDs: docs, Status: attune.AlignmentQueued,
		Stage: attune.StageQueued, Hyperparameters: attune.DefaultHyperparameters,
	}
	m := attune.AlignedModel{ID: attune.NewID(attune.PrefixModel), Name: "faq",
		Status: attune.ModelTraining, DeploymentStatus: attune.Undeployed}
	must(t, s.CreateAlignment(context.Background(), &a, &m), "CreateAlignment")
	return a, m
}

// errAbort is returned by update functions that must roll back.
var errAbort = errors.New("abort")

// asError reports whether err holds an *attune.Error, stored in *e.
func asError(err error, e **attune.Error) bool { return errors.As(err, e) }

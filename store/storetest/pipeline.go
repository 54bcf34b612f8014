package storetest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"attune"

	"github.com/google/go-cmp/cmp"
)

func testBenchmarks(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u, other := user(t, s, "a@example.com"), user(t, s, "b@example.com")
	d := document(t, s, u.ID, "faq.md", attune.StatusReady)
	pending := document(t, s, u.ID, "new.md", attune.StatusProcessing)
	b := benchmark(t, s, u.ID, d.ID)

	got, err := s.Benchmark(ctx, u.ID, b.ID)
	must(t, err, "Benchmark")
	b.CreatedAt, b.UpdatedAt = Clock, Clock
	if diff := cmp.Diff(b, got, opts); diff != "" {
		t.Errorf("Benchmark (-want +got):\n%s", diff)
	}
	_, err = s.Benchmark(ctx, other.ID, b.ID)
	wantKind(t, err, attune.KindNotFound, "Benchmark of another user")

	// Lists leave the questions out but keep their count.
	list, total, err := s.ListBenchmarks(ctx, u.ID, attune.Page{Limit: 10})
	must(t, err, "ListBenchmarks")
	if total != 1 || len(list) != 1 || list[0].Questions != nil || list[0].NumQuestions != 2 {
		t.Errorf("ListBenchmarks: got %+v (total %d)", list, total)
	}

	// Generated benchmarks need READY documents of their owner.
	bad := []struct {
		name string
		docs []string
	}{
		{"unknown document", []string{"doc_unknown"}},
		{"another user's document", []string{document(t, s, other.ID, "x.md", attune.StatusReady).ID}},
		{"document not ready", []string{pending.ID}},
	}
	for _, tt := range bad {
		g := attune.Benchmark{ID: attune.NewID(attune.PrefixBenchmark), OwnerID: u.ID,
			Type: attune.BenchmarkGenerated, DocumentIDs: tt.docs, Status: attune.StatusProcessing}
		wantKind(t, s.CreateBenchmark(ctx, &g), attune.KindNotFound, "CreateBenchmark with "+tt.name)
	}

	// An update that fails changes nothing.
	_, err = s.UpdateBenchmark(ctx, u.ID, b.ID, func(b *attune.Benchmark) error {
		b.Name = "changed"
		return errAbort
	})
	if err != errAbort {
		t.Fatalf("UpdateBenchmark: got %v, want the function's error", err)
	}
	if got, _ := s.Benchmark(ctx, u.ID, b.ID); got.Name != "faq" {
		t.Errorf("aborted update was written: name %q", got.Name)
	}

	// Deleting: refused while an unfinished alignment uses it.
	baseModel(t, s, "tiny")
	a := attune.Alignment{ID: attune.NewID(attune.PrefixAlignment), OwnerID: u.ID,
		BaseModel: "tiny", DocumentIDs: []string{d.ID}, BenchmarkID: b.ID, Status: attune.AlignmentProcessing}
	m := attune.AlignedModel{ID: attune.NewID(attune.PrefixModel), DeploymentStatus: attune.Undeployed}
	must(t, s.CreateAlignment(ctx, &a, &m), "CreateAlignment")
	wantKind(t, s.DeleteBenchmark(ctx, u.ID, b.ID), attune.KindConflict, "DeleteBenchmark in use")
	_, err = s.UpdateAlignment(ctx, u.ID, a.ID, func(a *attune.Alignment) error {
		a.Status = attune.AlignmentReady
		return nil
	})
	must(t, err, "UpdateAlignment")
	wantKind(t, s.DeleteBenchmark(ctx, other.ID, b.ID), attune.KindNotFound, "DeleteBenchmark by another user")
	must(t, s.DeleteBenchmark(ctx, u.ID, b.ID), "DeleteBenchmark")
	_, err = s.Benchmark(ctx, u.ID, b.ID)
	wantKind(t, err, attune.KindNotFound, "Benchmark after delete")
}

func testAlignments(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u, other := user(t, s, "a@example.com"), user(t, s, "b@example.com")
	baseModel(t, s, "tiny")
	d := document(t, s, u.ID, "faq.md", attune.StatusReady)
	a, m := alignment(t, s, u.ID, "tiny", d.ID)
	if a.ModelID != m.ID || m.AlignmentID != a.ID || m.OwnerID != u.ID || m.BaseModel != "tiny" {
		t.Fatalf("CreateAlignment did not link alignment %+v and model %+v", a, m)
	}

	// Every field survives a write and a read.
	eta := Clock.Add(time.Hour)
	done := false
	metrics := &attune.PerformanceMetrics{AccuracyBefore: 0.25, AccuracyAfter: 0.75,
		DomainViolationsBefore: 9, DomainViolationsAfter: 2, UncertaintyBefore: 0.5, UncertaintyAfter: 0.125}
	want, err := s.UpdateAlignment(ctx, u.ID, a.ID, func(a *attune.Alignment) error {
		a.Status, a.Stage, a.Progress = attune.AlignmentProcessing, attune.StageTraining, 42.5
		a.EstimatedCompletion, a.TrainingCompleted = &eta, &done
		a.Step, a.TotalSteps, a.Loss, a.Checkpoint = 10, 40, 1.25, "/ckpt/10"
		a.Metrics, a.StartedAt = metrics, &Clock
		a.Hyperparameters.Epochs = 3
		return nil
	})
	must(t, err, "UpdateAlignment")
	got, err := s.Alignment(ctx, u.ID, a.ID)
	must(t, err, "Alignment")
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("Alignment after update (-want +got):\n%s", diff)
	}
	if got.TrainingCompleted == nil || *got.TrainingCompleted || got.Metrics.AccuracyAfter != 0.75 {
		t.Errorf("Alignment: tri-state or metrics lost: %+v", got)
	}

	// Lists and scoping.
	list, total, err := s.ListAlignments(ctx, u.ID, attune.Page{Limit: 10})
	must(t, err, "ListAlignments")
	if total != 1 || len(list) != 1 || list[0].ID != a.ID {
		t.Errorf("ListAlignments: got %d of %d", len(list), total)
	}
	_, total, err = s.ListAlignments(ctx, other.ID, attune.Page{Limit: 10})
	must(t, err, "ListAlignments")
	if total != 0 {
		t.Errorf("ListAlignments of another user: got %d, want 0", total)
	}
	_, err = s.Alignment(ctx, other.ID, a.ID)
	wantKind(t, err, attune.KindNotFound, "Alignment of another user")
	_, err = s.AlignedModel(ctx, other.ID, m.ID)
	wantKind(t, err, attune.KindNotFound, "AlignedModel of another user")

	// What a new alignment refers to is checked.
	notReady := attune.BaseModel{ID: "noalign", AlignmentReady: false}
	must(t, s.CreateBaseModel(ctx, &notReady), "CreateBaseModel")
	cases := []struct {
		name      string
		base      string
		docs      []string
		benchmark string
		kind      attune.Kind
	}{
		{"unknown base model", "nope", []string{d.ID}, "", attune.KindInvalid},
		{"base model not alignment-ready", "noalign", []string{d.ID}, "", attune.KindInvalid},
		{"unknown document", "tiny", []string{"doc_x"}, "", attune.KindNotFound},
		{"unknown benchmark", "tiny", []string{d.ID}, "benchmark_x", attune.KindNotFound},
	}
	for _, tt := range cases {
		a := attune.Alignment{ID: attune.NewID(attune.PrefixAlignment), OwnerID: u.ID,
			BaseModel: tt.base, DocumentIDs: tt.docs, BenchmarkID: tt.benchmark, Status: attune.AlignmentQueued}
		m := attune.AlignedModel{ID: attune.NewID(attune.PrefixModel), DeploymentStatus: attune.Undeployed}
		err := s.CreateAlignment(ctx, &a, &m)
		wantKind(t, err, tt.kind, "CreateAlignment with "+tt.name)
		if tt.kind == attune.KindInvalid {
			var e *attune.Error
			if !asError(err, &e) || e.Field != "base_model" {
				t.Errorf("CreateAlignment with %s: error %v does not name base_model", tt.name, err)
			}
		}
	}
}

func testAlignmentDelete(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u := user(t, s, "a@example.com")
	baseModel(t, s, "tiny")
	d := document(t, s, u.ID, "faq.md", attune.StatusReady)
	b := benchmark(t, s, u.ID, d.ID)
	a, m := alignment(t, s, u.ID, "tiny", d.ID)
	e := attune.Evaluation{ID: attune.NewID(attune.PrefixEvaluation), OwnerID: u.ID,
		ModelID: m.ID, BenchmarkID: b.ID, AlignmentID: a.ID, Status: attune.StatusReady}
	must(t, s.CreateEvaluation(ctx, &e), "CreateEvaluation")

	// Deployed: refused.
	_, err := s.UpdateAlignedModel(ctx, u.ID, m.ID, func(m *attune.AlignedModel) error {
		m.DeploymentStatus = attune.Deployed
		return nil
	})
	must(t, err, "UpdateAlignedModel")
	err = s.DeleteAlignment(ctx, u.ID, a.ID)
	wantKind(t, err, attune.KindConflict, "DeleteAlignment while deployed")
	if !strings.Contains(err.Error(), "DEPLOYED") {
		t.Errorf("DeleteAlignment while deployed: %q does not say why", err)
	}

	// Undeployed: the alignment, its model and its evaluation go.
	_, err = s.UpdateAlignedModel(ctx, u.ID, m.ID, func(m *attune.AlignedModel) error {
		m.DeploymentStatus = attune.Undeployed
		return nil
	})
	must(t, err, "UpdateAlignedModel")
	must(t, s.DeleteAlignment(ctx, u.ID, a.ID), "DeleteAlignment")
	_, err = s.AlignedModel(ctx, u.ID, m.ID)
	wantKind(t, err, attune.KindNotFound, "AlignedModel after its alignment's delete")
	_, err = s.Evaluation(ctx, u.ID, e.ID)
	wantKind(t, err, attune.KindNotFound, "Evaluation after its alignment's delete")
	wantKind(t, s.DeleteAlignment(ctx, u.ID, a.ID), attune.KindNotFound, "DeleteAlignment twice")
}

func testDeployment(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u, other := user(t, s, "a@example.com"), user(t, s, "b@example.com")
	baseModel(t, s, "tiny")
	d := document(t, s, u.ID, "faq.md", attune.StatusReady)
	_, m := alignment(t, s, u.ID, "tiny", d.ID)
	task := func(owner string, kind attune.TaskKind, early bool) error {
		tk := attune.DeploymentTask{ID: attune.NewID(attune.PrefixTask), OwnerID: owner,
			ModelID: m.ID, Kind: kind, Early: early}
		return s.CreateDeploymentTask(ctx, &tk)
	}

	wantKind(t, task(u.ID, attune.TaskDeploy, false), attune.KindConflict, "deploy without an adapter")
	wantKind(t, task(u.ID, attune.TaskUndeploy, false), attune.KindConflict, "undeploy when undeployed")
	wantKind(t, task(other.ID, attune.TaskDeploy, true), attune.KindNotFound, "deploy another user's model")
	must(t, task(u.ID, attune.TaskDeploy, true), "early deploy")
	err := task(u.ID, attune.TaskDeploy, true)
	wantKind(t, err, attune.KindConflict, "deploy twice")
	if want := "Model cannot be redeployed. Current status: DEPLOYING"; attune.ErrorMessage(err) != want {
		t.Errorf("deploy twice: got %q, want %q", attune.ErrorMessage(err), want)
	}

	// The deploy job finishes: the task completes and the model is deployed.
	latest, err := s.LatestDeploymentTask(ctx, u.ID, m.ID, attune.TaskDeploy)
	must(t, err, "LatestDeploymentTask")
	if latest.Status != attune.TaskPending || !latest.Early || !latest.StartedAt.Equal(Clock) {
		t.Errorf("LatestDeploymentTask: got %+v", latest)
	}
	dep, err := s.DeployedModels(ctx)
	must(t, err, "DeployedModels")
	if len(dep) != 1 || dep[0].DeploymentStatus != attune.Deploying {
		t.Errorf("DeployedModels while deploying: got %+v", dep)
	}
	_, err = s.UpdateDeploymentTask(ctx, u.ID, latest.ID, func(tk *attune.DeploymentTask) error {
		tk.Status, tk.EndedAt = attune.TaskCompleted, &Clock
		return nil
	})
	must(t, err, "UpdateDeploymentTask")
	_, err = s.UpdateAlignedModel(ctx, u.ID, m.ID, func(m *attune.AlignedModel) error {
		m.DeploymentStatus = attune.Deployed
		return nil
	})
	must(t, err, "UpdateAlignedModel")
	must(t, task(u.ID, attune.TaskUndeploy, false), "undeploy")
	got, err := s.AlignedModel(ctx, u.ID, m.ID)
	must(t, err, "AlignedModel")
	if got.DeploymentStatus != attune.Undeploying {
		t.Errorf("after undeploy task: got %s, want UNDEPLOYING", got.DeploymentStatus)
	}
	_, err = s.LatestDeploymentTask(ctx, other.ID, m.ID, attune.TaskUndeploy)
	wantKind(t, err, attune.KindNotFound, "LatestDeploymentTask of another user")
}

func testEvaluations(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u, other := user(t, s, "a@example.com"), user(t, s, "b@example.com")
	baseModel(t, s, "tiny")
	d := document(t, s, u.ID, "faq.md", attune.StatusReady)
	b := benchmark(t, s, u.ID, d.ID)
	_, m := alignment(t, s, u.ID, "tiny", d.ID)
	_, otherModel := alignment(t, s, other.ID, "tiny", document(t, s, other.ID, "o.md", attune.StatusReady).ID)

	e1 := attune.Evaluation{ID: attune.NewID(attune.PrefixEvaluation), OwnerID: u.ID,
		ModelID: "tiny", ModelID2: m.ID, BenchmarkID: b.ID, Status: attune.StatusProcessing,
		CustomMetrics: []string{"accuracy"}, TotalQuestions: 4}
	must(t, s.CreateEvaluation(ctx, &e1), "CreateEvaluation compare")
	e2 := attune.Evaluation{ID: attune.NewID(attune.PrefixEvaluation), OwnerID: u.ID,
		ModelID: "tiny", BenchmarkID: b.ID, Status: attune.StatusProcessing}
	must(t, s.CreateEvaluation(ctx, &e2), "CreateEvaluation single")

	bad := []struct {
		name  string
		model string
		bench string
	}{
		{"another user's model", otherModel.ID, b.ID},
		{"an unknown model", "aligned-x", b.ID},
		{"an unknown benchmark", "tiny", "benchmark_x"},
	}
	for _, tt := range bad {
		e := attune.Evaluation{ID: attune.NewID(attune.PrefixEvaluation), OwnerID: u.ID,
			ModelID: tt.model, BenchmarkID: tt.bench, Status: attune.StatusProcessing}
		wantKind(t, s.CreateEvaluation(ctx, &e), attune.KindNotFound, "CreateEvaluation of "+tt.name)
	}

	// Results round-trip as JSON; lists leave them out.
	results := json.RawMessage(`{"method":"eval-compare","metrics":{"accuracy":0.5}}`)
	_, err := s.UpdateEvaluation(ctx, u.ID, e1.ID, func(e *attune.Evaluation) error {
		e.Status, e.Results, e.QuestionsCompleted, e.EndedAt = attune.StatusReady, results, 4, &Clock
		return nil
	})
	must(t, err, "UpdateEvaluation")
	got, err := s.Evaluation(ctx, u.ID, e1.ID)
	must(t, err, "Evaluation")
	if string(got.Results) != string(results) || got.QuestionsCompleted != 4 || got.EndedAt == nil {
		t.Errorf("Evaluation after update: got %+v", got)
	}
	_, err = s.UpdateEvaluation(ctx, u.ID, e1.ID, func(e *attune.Evaluation) error {
		e.Results = json.RawMessage(`{"broken`)
		return nil
	})
	wantKind(t, err, attune.KindInvalid, "UpdateEvaluation with broken JSON")

	filters := []struct {
		f    attune.EvaluationFilter
		want []string
	}{
		{attune.EvaluationFilter{}, []string{e2.ID, e1.ID}},
		{attune.EvaluationFilter{Status: attune.StatusReady}, []string{e1.ID}},
		{attune.EvaluationFilter{ModelID: m.ID}, []string{e1.ID}},
		{attune.EvaluationFilter{ModelID: "tiny", Status: attune.StatusProcessing}, []string{e2.ID}},
	}
	for _, tt := range filters {
		list, total, err := s.ListEvaluations(ctx, u.ID, tt.f, attune.Page{Limit: 10})
		must(t, err, "ListEvaluations")
		var ids []string
		for _, e := range list {
			ids = append(ids, e.ID)
			if e.Results != nil {
				t.Errorf("ListEvaluations: results of %s included", e.ID)
			}
		}
		if !cmp.Equal(ids, tt.want) || total != len(tt.want) {
			t.Errorf("ListEvaluations(%+v): got %v (total %d), want %v", tt.f, ids, total, tt.want)
		}
	}
	_, total, err := s.ListEvaluations(ctx, other.ID, attune.EvaluationFilter{}, attune.Page{})
	must(t, err, "ListEvaluations")
	if total != 0 {
		t.Errorf("ListEvaluations of another user: got %d, want 0", total)
	}
}

func testUnfinishedWork(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u := user(t, s, "a@example.com")
	baseModel(t, s, "tiny")
	pending := document(t, s, u.ID, "p.md", attune.StatusProcessing)
	d := document(t, s, u.ID, "faq.md", attune.StatusReady)
	b := benchmark(t, s, u.ID, d.ID)
	a, m := alignment(t, s, u.ID, "tiny", d.ID)
	done, _ := alignment(t, s, u.ID, "tiny", d.ID)
	_, err := s.UpdateAlignment(ctx, u.ID, done.ID, func(a *attune.Alignment) error {
		a.Status = attune.AlignmentStopped
		return nil
	})
	must(t, err, "UpdateAlignment")
	own := attune.Evaluation{ID: attune.NewID(attune.PrefixEvaluation), OwnerID: u.ID,
		ModelID: m.ID, BenchmarkID: b.ID, AlignmentID: a.ID, Status: attune.StatusProcessing}
	must(t, s.CreateEvaluation(ctx, &own), "CreateEvaluation")
	free := attune.Evaluation{ID: attune.NewID(attune.PrefixEvaluation), OwnerID: u.ID,
		ModelID: "tiny", BenchmarkID: b.ID, Status: attune.StatusProcessing}
	must(t, s.CreateEvaluation(ctx, &free), "CreateEvaluation")
	dep := attune.DeploymentTask{ID: attune.NewID(attune.PrefixTask), OwnerID: u.ID,
		ModelID: m.ID, Kind: attune.TaskDeploy, Early: true}
	must(t, s.CreateDeploymentTask(ctx, &dep), "CreateDeploymentTask")

	got, err := s.UnfinishedWork(ctx)
	must(t, err, "UnfinishedWork")
	want := []attune.WorkItem{
		{Kind: attune.WorkAlign, OwnerID: u.ID, ID: a.ID},
		{Kind: attune.WorkDeploy, OwnerID: u.ID, ID: dep.ID},
		{Kind: attune.WorkEvaluate, OwnerID: u.ID, ID: free.ID},
		{Kind: attune.WorkIngest, OwnerID: u.ID, ID: pending.ID},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UnfinishedWork (-want +got):\n%s", diff)
	}
}

func testInTx(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u := user(t, s, "a@example.com")

	// A failed transaction leaves nothing behind, even across methods.
	err := s.InTx(ctx, func(tx attune.Store) error {
		document(t, tx, u.ID, "a.md", attune.StatusReady)
		if _, err := tx.EnsureUser(ctx, "new@example.com"); err != nil {
			return err
		}
		return errAbort
	})
	if err != errAbort {
		t.Fatalf("InTx: got %v, want the function's error", err)
	}
	_, total, err := s.ListDocuments(ctx, u.ID, attune.Page{})
	must(t, err, "ListDocuments")
	_, errUser := s.UserByEmail(ctx, "new@example.com")
	if total != 0 || attune.ErrorKind(errUser) != attune.KindNotFound {
		t.Errorf("rolled-back transaction left %d documents and user error %v", total, errUser)
	}

	// A committed one keeps everything, nested calls included.
	err = s.InTx(ctx, func(tx attune.Store) error {
		document(t, tx, u.ID, "a.md", attune.StatusReady)
		return tx.InTx(ctx, func(tx attune.Store) error {
			document(t, tx, u.ID, "b.md", attune.StatusReady)
			return nil
		})
	})
	must(t, err, "InTx")
	_, total, err = s.ListDocuments(ctx, u.ID, attune.Page{})
	must(t, err, "ListDocuments")
	if total != 2 {
		t.Errorf("committed transaction: got %d documents, want 2", total)
	}
}

func testBaseModels(t *testing.T, s attune.Store) {
	ctx := context.Background()
	b := baseModel(t, s, "qwen-b")
	a := baseModel(t, s, "qwen-a")
	dup := attune.BaseModel{ID: "qwen-a"}
	wantKind(t, s.CreateBaseModel(ctx, &dup), attune.KindConflict, "CreateBaseModel twice")
	wantKind(t, s.CreateBaseModel(ctx, &attune.BaseModel{}), attune.KindInvalid, "CreateBaseModel without id")
	got, err := s.ListBaseModels(ctx)
	must(t, err, "ListBaseModels")
	a.CreatedAt, b.CreatedAt = Clock, Clock
	if diff := cmp.Diff([]attune.BaseModel{a, b}, got); diff != "" {
		t.Errorf("ListBaseModels (-want +got):\n%s", diff)
	}
	_, err = s.BaseModel(ctx, "nope")
	wantKind(t, err, attune.KindNotFound, "BaseModel unknown")
}

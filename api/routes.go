package api

import "net/http"

// v3 is the prefix of NuGen's routes.
const v3 = "/api/v3"

// table returns every route the server answers. The mux and the OpenAPI
// document are both built from it.
func (s *Server) table() []route {
	get, post, del := http.MethodGet, http.MethodPost, http.MethodDelete
	page := []string{"limit", "offset"}
	var rts []route
	add := func(rt route, aliases ...string) {
		rts = append(rts, rt)
		for _, a := range aliases {
			al := rt
			al.path, al.aliasOf, al.loose = a, rt.path, false
			rts = append(rts, al)
		}
	}

	// Operations.
	add(route{method: get, path: "/healthz", summary: "Report that the server is up", tag: "operations", access: accessPublic, handle: s.handleHealth})
	add(route{method: get, path: "/metrics", summary: "Prometheus metrics", tag: "operations", access: accessPublic, handle: s.handleMetrics})
	add(route{method: get, path: "/openapi.json", summary: "This document", tag: "operations", access: accessPublic, handle: s.handleOpenAPI})

	// Documents.
	add(route{method: post, path: v3 + "/documents", summary: "Upload documents, one upload task per file", tag: "documents", multipart: []string{"files", "categories"}, handle: s.handleUpload},
		v3+"/documents/create")
	add(route{method: get, path: v3 + "/documents/{task_id}", summary: "Status of an upload task", tag: "documents", handle: s.handleUploadStatus},
		v3+"/documents/{task_id}/status")
	add(route{method: get, path: v3 + "/documents", summary: "List documents", tag: "documents", query: page, handle: s.handleListDocuments},
		v3+"/documents/list")
	add(route{method: del, path: v3 + "/documents/{id}", summary: "Delete a document", tag: "documents", handle: s.handleDeleteDocument})

	// Benchmarks.
	add(route{method: post, path: v3 + "/benchmark/create", summary: "Generate a benchmark from documents", tag: "benchmarks", body: createBenchmarkRequest{}, handle: s.handleCreateBenchmark},
		v3+"/benchmarks/create")
	add(route{method: get, path: v3 + "/benchmark/status/{id}", summary: "Status of a benchmark", tag: "benchmarks", handle: s.handleBenchmarkStatus},
		v3+"/benchmarks/{id}/status")
	add(route{method: get, path: v3 + "/benchmark/{id}/data", summary: "A benchmark with its questions", tag: "benchmarks", loose: true, handle: s.handleBenchmarkData},
		v3+"/benchmarks/{id}")
	add(route{method: get, path: v3 + "/benchmark/list", summary: "List benchmarks", tag: "benchmarks", query: page, handle: s.handleListBenchmarks},
		v3+"/benchmarks/list")
	add(route{method: post, path: v3 + "/benchmark/upload", summary: "Upload a benchmark (JSON array of question/answer)", tag: "benchmarks", multipart: []string{"file", "name", "document_id", "description"}, handle: s.handleUploadBenchmark},
		v3+"/benchmarks/upload")
	add(route{method: del, path: v3 + "/benchmark/{id}", summary: "Delete a benchmark", tag: "benchmarks", handle: s.handleDeleteBenchmark},
		v3+"/benchmarks/{id}")

	// Alignment projects.
	add(route{method: post, path: v3 + "/alignment-project/create", summary: "Create an alignment project", tag: "alignments", body: createAlignmentRequest{}, handle: s.handleCreateAlignment},
		v3+"/alignment-projects/create")
	add(route{method: get, path: v3 + "/alignment-project/status/{id}", summary: "Status of an alignment", tag: "alignments", handle: s.handleAlignmentStatus(false)},
		v3+"/alignment/status/{id}")
	add(route{method: get, path: v3 + "/alignment-projects/{id}/status", summary: "Status of an alignment, with queue and stage details", tag: "alignments", handle: s.handleAlignmentStatus(true)})
	add(route{method: get, path: v3 + "/alignment-project/{id}", summary: "An alignment", tag: "alignments", handle: s.handleGetAlignment},
		v3+"/alignment-projects/{id}")
	add(route{method: get, path: v3 + "/alignment", summary: "List alignments", tag: "alignments", query: page, handle: s.handleListAlignments},
		v3+"/alignment-projects/list")
	add(route{method: post, path: v3 + "/alignment-project/{id}/stop", summary: "Stop a running alignment", tag: "alignments", handle: s.handleStopAlignment},
		v3+"/alignment-projects/{id}/stop")
	add(route{method: del, path: v3 + "/alignment-project/{id}", summary: "Delete an alignment", tag: "alignments", handle: s.handleDeleteAlignment},
		v3+"/alignment-projects/{id}")

	// Models and deployment.
	add(route{method: get, path: v3 + "/models/base", summary: "List base models", tag: "models", handle: s.handleBaseModels})
	add(route{method: get, path: v3 + "/models/aligned", summary: "List aligned models", tag: "models", query: page, handle: s.handleAlignedModels})
	add(route{method: get, path: v3 + "/models/aligned/{id}/adapter", summary: "Download an aligned model's LoRA adapter (PEFT layout, tar)", tag: "models", handle: s.handleAdapter})
	add(route{method: post, path: v3 + "/models/deploy-model/{model_id}", summary: "Deploy an aligned model", tag: "models", query: []string{"early"}, handle: s.handleDeploy(false)})
	add(route{method: post, path: v3 + "/models/{model_id}/deployment", summary: "Deploy an aligned model (early=true: newest checkpoint of a running alignment)", tag: "models", query: []string{"early"}, loose: true, handle: s.handleDeploy(true)})
	add(route{method: get, path: v3 + "/models/deploy-model/{model_id}/status", summary: "Status of the latest deploy", tag: "models", handle: s.handleDeployStatus(false)})
	add(route{method: get, path: v3 + "/models/{model_id}/deployment/status", summary: "Status of the latest deploy, with queue and stage details", tag: "models", loose: true, handle: s.handleDeployStatus(true)})
	add(route{method: del, path: v3 + "/models/undeploy-model/{model_id}", summary: "Undeploy an aligned model", tag: "models", handle: s.handleUndeploy})
	add(route{method: get, path: v3 + "/models/undeploy-model/{model_id}/status", summary: "Status of the latest undeploy", tag: "models", handle: s.handleUndeployStatus})

	// Evaluations.
	add(route{method: post, path: v3 + "/evaluations", summary: "Evaluate a model, or compare two, on a benchmark", tag: "evaluations", body: createEvaluationRequest{}, handle: s.handleCreateEvaluation})
	add(route{method: get, path: v3 + "/evaluations/{id}/status", summary: "Progress of an evaluation", tag: "evaluations", handle: s.handleEvaluationStatus})
	add(route{method: get, path: v3 + "/evaluations/{id}/results", summary: "Results of a finished evaluation", tag: "evaluations", handle: s.handleEvaluationResults(false)})
	add(route{method: get, path: v3 + "/evaluations/{id}/download", summary: "Results with per-question details, as an attachment", tag: "evaluations", handle: s.handleEvaluationResults(true)})
	add(route{method: get, path: v3 + "/evaluations", summary: "List evaluations", tag: "evaluations", query: []string{"status", "model_id", "limit", "offset"}, handle: s.handleListEvaluations})

	// Inference, under NuGen's prefix and OpenAI's.
	add(route{method: post, path: v3 + "/inference/chat/completions", summary: "Chat completion (OpenAI-compatible; stream for server-sent events)", tag: "inference", openai: true, body: chatRequest{}, handle: s.handleChat},
		"/v1/chat/completions")
	add(route{method: post, path: v3 + "/inference/completions", summary: "Text completion (OpenAI-compatible)", tag: "inference", openai: true, body: completionRequest{}, handle: s.handleCompletion},
		"/v1/completions")
	add(route{method: post, path: v3 + "/inference/embeddings", summary: "Embeddings (OpenAI-compatible)", tag: "inference", openai: true, body: embeddingRequest{}, handle: s.handleEmbeddings},
		"/v1/embeddings")
	add(route{method: get, path: "/v1/models", summary: "Models the caller can use for inference (OpenAI-compatible)", tag: "inference", openai: true, handle: s.handleOpenAIModels},
		v3+"/inference/models")

	// Keys.
	add(route{method: post, path: v3 + "/api-keys", summary: "Issue an API key (admin)", tag: "keys", access: accessAdmin, body: createKeyRequest{}, handle: s.handleCreateKey})
	add(route{method: get, path: v3 + "/api-keys", summary: "List API keys (admin)", tag: "keys", access: accessAdmin, query: []string{"email"}, handle: s.handleListKeys})
	add(route{method: del, path: v3 + "/api-keys/{id}", summary: "Revoke an API key (admin)", tag: "keys", access: accessAdmin, handle: s.handleRevokeKey})
	return rts
}

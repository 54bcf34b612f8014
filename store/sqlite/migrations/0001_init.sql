-- The first schema: users and keys, documents and their upload tasks,
-- benchmarks, alignments with their aligned models and deployment tasks,
-- evaluations and base models. Times are RFC 3339 UTC text; lists of ids
-- and other structured values are JSON text.

CREATE TABLE users (
	id         TEXT PRIMARY KEY,
	email      TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL
);

CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	prefix     TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	scope      TEXT NOT NULL CHECK (scope IN ('user', 'admin')),
	name       TEXT NOT NULL,
	rate_limit REAL NOT NULL CHECK (rate_limit >= 0),
	created_at TEXT NOT NULL,
	revoked_at TEXT
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE documents (
	id          TEXT PRIMARY KEY,
	owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	filename    TEXT NOT NULL,
	type        TEXT NOT NULL,
	size        INTEGER NOT NULL,
	sha256      TEXT NOT NULL,
	categories  TEXT NOT NULL,
	status      TEXT NOT NULL,
	error       TEXT NOT NULL,
	progress    REAL NOT NULL,
	text_sha256 TEXT NOT NULL,
	chunks      INTEGER NOT NULL,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	UNIQUE (owner_id, filename)
);
CREATE INDEX documents_owner ON documents (owner_id, id);
CREATE INDEX documents_sha256 ON documents (sha256);
CREATE INDEX documents_text_sha256 ON documents (text_sha256);

CREATE TABLE upload_tasks (
	id          TEXT PRIMARY KEY,
	owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	filename    TEXT NOT NULL,
	document_id TEXT NOT NULL,
	status      TEXT NOT NULL,
	error       TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
);
CREATE INDEX upload_tasks_document ON upload_tasks (document_id);

CREATE TABLE benchmarks (
	id            TEXT PRIMARY KEY,
	owner_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	description   TEXT NOT NULL,
	type          TEXT NOT NULL,
	document_ids  TEXT NOT NULL,
	num_questions INTEGER NOT NULL,
	questions     TEXT NOT NULL,
	status        TEXT NOT NULL,
	error         TEXT NOT NULL,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	started_at    TEXT,
	ended_at      TEXT
);
CREATE INDEX benchmarks_owner ON benchmarks (owner_id, id);

CREATE TABLE base_models (
	id              TEXT PRIMARY KEY,
	description     TEXT NOT NULL,
	path            TEXT NOT NULL,
	architecture    TEXT NOT NULL,
	parameters      INTEGER NOT NULL,
	context_length  INTEGER NOT NULL,
	alignment_ready INTEGER NOT NULL,
	created_at      TEXT NOT NULL
);

CREATE TABLE alignments (
	id                   TEXT PRIMARY KEY,
	owner_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name                 TEXT NOT NULL,
	description          TEXT NOT NULL,
	workflow_id          TEXT NOT NULL,
	base_model           TEXT NOT NULL REFERENCES base_models (id),
	document_ids         TEXT NOT NULL,
	benchmark_id         TEXT NOT NULL,
	hyperparameters      TEXT NOT NULL,
	model_id             TEXT NOT NULL,
	status               TEXT NOT NULL,
	stage                TEXT NOT NULL,
	progress             REAL NOT NULL,
	estimated_completion TEXT,
	error                TEXT NOT NULL,
	evaluation_id        TEXT NOT NULL,
	training_completed   INTEGER,
	step                 INTEGER NOT NULL,
	total_steps          INTEGER NOT NULL,
	loss                 REAL NOT NULL,
	checkpoint           TEXT NOT NULL,
	metrics              TEXT,
	created_at           TEXT NOT NULL,
	updated_at           TEXT NOT NULL,
	started_at           TEXT,
	completed_at         TEXT
);
CREATE INDEX alignments_owner ON alignments (owner_id, id);

CREATE TABLE aligned_models (
	id                TEXT PRIMARY KEY,
	owner_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	alignment_id      TEXT NOT NULL REFERENCES alignments (id) ON DELETE CASCADE,
	name              TEXT NOT NULL,
	base_model        TEXT NOT NULL REFERENCES base_models (id),
	status            TEXT NOT NULL,
	deployment_status TEXT NOT NULL,
	adapter_path      TEXT NOT NULL,
	evaluation_id     TEXT NOT NULL,
	metrics           TEXT,
	created_at        TEXT NOT NULL,
	updated_at        TEXT NOT NULL
);
CREATE INDEX aligned_models_owner ON aligned_models (owner_id, id);
CREATE INDEX aligned_models_deployment ON aligned_models (deployment_status);

CREATE TABLE deployment_tasks (
	id         TEXT PRIMARY KEY,
	owner_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	model_id   TEXT NOT NULL REFERENCES aligned_models (id) ON DELETE CASCADE,
	kind       TEXT NOT NULL CHECK (kind IN ('deploy', 'undeploy')),
	early      INTEGER NOT NULL,
	status     TEXT NOT NULL,
	message    TEXT NOT NULL,
	error      TEXT NOT NULL,
	started_at TEXT NOT NULL,
	ended_at   TEXT
);
CREATE INDEX deployment_tasks_model ON deployment_tasks (model_id, kind, id);

CREATE TABLE evaluations (
	id                    TEXT PRIMARY KEY,
	owner_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	model_id              TEXT NOT NULL,
	model_id_2            TEXT NOT NULL,
	benchmark_id          TEXT NOT NULL,
	alignment_id          TEXT NOT NULL,
	judge_provider        TEXT NOT NULL,
	custom_metrics        TEXT NOT NULL,
	status                TEXT NOT NULL,
	error                 TEXT NOT NULL,
	questions_completed   INTEGER NOT NULL,
	total_questions       INTEGER NOT NULL,
	avg_seconds_per_q     REAL NOT NULL,
	results               TEXT,
	created_at            TEXT NOT NULL,
	updated_at            TEXT NOT NULL,
	started_at            TEXT,
	ended_at              TEXT
);
CREATE INDEX evaluations_owner ON evaluations (owner_id, id);
CREATE INDEX evaluations_alignment ON evaluations (alignment_id);

# attune's build. GOEXPERIMENT=simd turns on the engine's fast kernels
# (simd/archsimd); without it the portable kernels build instead.
export GOEXPERIMENT ?= simd

GO       ?= go
DATA_DIR ?= $(CURDIR)/data/demo

.PHONY: all build demo test test-portable bench vet

all: build

build:
	$(GO) build -o bin/attune ./cmd/attune

# The demo: upload, align, evaluate, deploy, chat, on the embedded defaults.
demo:
	$(GO) run ./cmd/attune demo --data-dir $(DATA_DIR)

# The tests: every package, with the fast kernels, then the kernels again
# on the portable path.
test:
	$(GO) vet ./...
	$(GO) test -timeout 30m ./...
	GOEXPERIMENT= $(GO) test -timeout 10m ./engine/kernels/...

bench:
	$(GO) test -run '^$$' -bench . ./engine/...

#!/usr/bin/env bash
# Measures the alignment status route under load while an alignment trains:
# starts attune serve on a fresh data directory with the tiny reference
# model, uploads documents, starts a long alignment, waits until it is
# training, then runs wrk with CONNS concurrent connections for DURATION
# against GET /api/v3/alignment-project/status/ID and prints wrk's report
# (requests/s and latency percentiles, p99 included).
#
#   scripts/load-status.sh [CONNS] [DURATION]      (defaults: 200 15s)
#
# With TRAIN=0 the alignment is stopped before the measurement, for the
# figure without training beside it. SERVE_FLAGS adds flags to attune serve
# (e.g. SERVE_FLAGS="--compute-nice 0" for training at the same priority).
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-200}
duration=${2:-15s}
port=${PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
url="http://127.0.0.1:$port"

scripts/install-wrk.sh
export GOEXPERIMENT=${GOEXPERIMENT-simd}
go build -o bin/attune ./cmd/attune

data=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$data"
}
trap cleanup EXIT

bin/attune models import testdata/reference/qwen2-tiny --id qwen2-tiny --link --data-dir "$data" >/dev/null
key=$(bin/attune keys create --user load@example.com --data-dir "$data" 2>/dev/null)
bin/attune serve --addr "127.0.0.1:$port" --data-dir "$data" --rate-limit 0 ${SERVE_FLAGS:-} 2>"$data/serve.log" &
server=$!
auth="Authorization: Bearer $key"
for _ in $(seq 100); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# Documents, then an alignment long enough to outlast the measurement.
files=()
for f in testdata/corpora/dict-elements/documents/00[1-9]-*.txt; do files+=(-F "files=@$f"); done
tasks=$(curl -fsS -H "$auth" "${files[@]}" "$url/api/v3/documents" | python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["document_ids"]))')
docs=()
for t in $tasks; do
  for _ in $(seq 300); do
    doc=$(curl -fsS -H "$auth" "$url/api/v3/documents/$t" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["document_id"] if d["status"]=="READY" else "")')
    [ -n "$doc" ] && break; sleep 0.1
  done
  docs+=("\"$doc\"")
done
ids=$(IFS=,; echo "${docs[*]}")
alignment=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' \
  -d "{\"name\":\"load\",\"base_model\":\"qwen2-tiny\",\"document_ids\":[$ids],\"hyperparameters\":{\"epochs\":100,\"batch_size\":4,\"max_seq_len\":128}}" \
  "$url/api/v3/alignment-project/create" | python3 -c 'import json,sys; print(json.load(sys.stdin)["alignment_id"])')
status="$url/api/v3/alignment-project/status/$alignment"
for _ in $(seq 600); do
  stage=$(curl -fsS -H "$auth" "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["stage"])')
  [ "$stage" = training ] && break; sleep 0.1
done
echo "alignment $alignment is in stage: $stage"
if [ "${TRAIN:-1}" = 0 ]; then
  curl -fsS -X POST -H "$auth" "$url/api/v3/alignment-project/$alignment/stop" >/dev/null
  echo "stopped it: measuring without training"
fi

wrk -t2 -c"$conns" -d"$duration" --latency -H "$auth" "$status"
curl -fsS -H "$auth" "$status" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print("after the run: status", d["status"], "stage", d["stage"], "step", d["training"]["step"], "of", d["training"]["total_steps"])'

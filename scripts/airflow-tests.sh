#!/usr/bin/env bash
# The Airflow side's tests, from `make test`: build the `cost-jobs` wheel (maturin, dev profile,
# this machine's glibc), start the pipeline's AWS side (`local-pipeline --serve`: moto, the stack,
# the ad-platform peers, cost-etl under the Runtime API emulator fed like Lambda's event source),
# then run airflow/run-tests.sh with that wheel installed in a clean venv and the real DAG end to
# end. Release wheels (manylinux2014, x86_64 and aarch64) are built as docs/cost-jobs.md says.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '[airflow-tests] %s\n' "$*" >&2; }

TARGET="${CARGO_TARGET_DIR:-$PWD/target}"
WHEELS="$TARGET/wheels-test"
rm -rf "$WHEELS"
say "building the cost-jobs wheel (maturin, dev profile)"
.tools/venv/bin/maturin build --quiet --profile dev --compatibility linux -m crates/cost-jobs/Cargo.toml --out "$WHEELS" >&2
WHEEL="$(ls "$WHEELS"/cost_jobs-*.whl)"

work="$(mktemp -d)"
env_file="$work/pipeline.env"
mkfifo "$work/stdin"
# The pipeline runs until its stdin closes: fd 8 holds the fifo's write end open.
"$TARGET/debug/local-pipeline" --serve "$env_file" < "$work/stdin" > "$work/serve.out" 2> "$work/serve.log" &
serve=$!
exec 8> "$work/stdin"
stop() {
  exec 8>&- || true
  for _ in $(seq 1 100); do kill -0 "$serve" 2>/dev/null || break; sleep 0.1; done
  kill "$serve" 2>/dev/null || true
  wait "$serve" 2>/dev/null || true
}
trap 'stop; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do
  grep -q READY "$work/serve.out" 2>/dev/null && break
  kill -0 "$serve" 2>/dev/null || { cat "$work/serve.log" >&2; say "local-pipeline --serve exited early"; exit 1; }
  sleep 0.2
done
grep -q READY "$work/serve.out" || { cat "$work/serve.log" >&2; say "local-pipeline --serve not ready after 120 s"; exit 1; }
say "pipeline serving ($(grep -c . "$env_file") settings in $env_file)"
status=0
COST_JOBS_E2E_ENV="$env_file" bash airflow/run-tests.sh "$WHEEL" || status=$?
if (( status )); then
  say "--- local-pipeline --serve log (last 80 lines) ---"
  tail -n 80 "$work/serve.log" >&2
fi
exit $status

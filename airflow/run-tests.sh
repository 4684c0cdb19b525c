#!/usr/bin/env bash
# The Airflow side's tests (what `make test` calls): the provider's unit tests against a stand-in
# `cost-jobs`, the DAG file's checks and, when COST_JOBS_E2E_ENV names the env file of
# `local-pipeline --serve`, the DAG end to end against the real pipeline.
#
#   airflow/run-tests.sh [COST_JOBS_WHEEL] [PYTEST_ARGS...]
#
# The venv lives in $HOME/.cache/pipeline-functions/airflow-venv (CI keeps $HOME/.cache, not the
# clone) and is rebuilt only when constraints.txt, the provider's pyproject.toml or the Python
# version change. The provider itself is reinstalled (not editable: the clone's path changes
# between CI runs) on every run, and so is the `cost-jobs` wheel when one is given; without one,
# a wheel left from an earlier run is removed so no stale binary is found on PATH.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
say() { printf '[airflow-tests] %s\n' "$*" >&2; }

WHEEL="${1:-}"
[[ $# -gt 0 ]] && shift
if [[ -n $WHEEL && ! -f $WHEEL ]]; then
  say "no cost-jobs wheel at $WHEEL"
  exit 64
fi

PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"
CACHE="${HOME}/.cache/pipeline-functions"
VENV="$CACHE/airflow-venv"
# Top-level requirements; every version comes from constraints.txt.
REQUIREMENTS=(apache-airflow apache-airflow-providers-amazon pytest setuptools)
key="$( { cat "$HERE/constraints.txt" "$HERE/provider/pyproject.toml"; printf '%s\n' "${REQUIREMENTS[@]}"; "$PY" -VV; } | sha256sum | cut -c1-64)"

mkdir -p "$CACHE"
exec 9>"$CACHE/airflow-venv.lock"
flock 9   # two runs on one machine share the venv: one installs, the other waits

if [[ -x $VENV/bin/python && -f $VENV/.stamp && "$(cat "$VENV/.stamp")" == "$key" ]]; then
  say "venv up to date ($VENV)"
else
  started=$SECONDS
  say "creating $VENV (Apache Airflow and the Amazon provider, pinned by airflow/constraints.txt)"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -c "$HERE/constraints.txt" "${REQUIREMENTS[@]}"
  printf '%s' "$key" > "$VENV/.stamp"
  say "venv ready in $((SECONDS - started)) s"
fi

PIP=("$VENV/bin/pip" --quiet --disable-pip-version-check)
if [[ -n $WHEEL ]]; then
  say "installing $(basename "$WHEEL")"
  "${PIP[@]}" install --no-deps --force-reinstall "$WHEEL"
elif "$VENV/bin/python" -c 'import importlib.metadata as m; m.distribution("cost-jobs")' 2>/dev/null; then
  say "removing the cost-jobs wheel an earlier run installed (none given now)"
  "${PIP[@]}" uninstall --yes cost-jobs
fi
# --no-deps: its dependencies are the venv's (pinned) and the wheel above; --no-build-isolation:
# setuptools comes from the venv, so nothing is fetched.
"${PIP[@]}" install --no-deps --no-build-isolation --force-reinstall "$HERE/provider"
rm -rf "$HERE/provider/build" "$HERE"/provider/src/*.egg-info

# Nothing reads or writes ~/airflow: each run has its own AIRFLOW_HOME (the end-to-end test makes
# another one of its own).
AIRFLOW_HOME="$(mktemp -d)"
export AIRFLOW_HOME
trap 'rm -rf "$AIRFLOW_HOME"' EXIT
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export PATH="$VENV/bin:$PATH"

cd "$HERE"
"$VENV/bin/python" -m pytest tests "$@"

#!/usr/bin/env bash
# Install the pinned tools that tests, the local pipeline and deploys need, into the repo:
#   .tools/venv     cargo-lambda (+ zig for cross builds), moto[server], cfn-lint, maturin (the cost-jobs wheel)
#   node_modules    osls (the `serverless`/`sls` command, serverless v3 line) and friends, from package-lock.json
#   rust target     aarch64-unknown-linux-gnu (Lambda arm64); skipped with a note when it cannot be installed
# Idempotent: a stamp file records what was installed, so a second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

PY_PINS=(cargo-lambda==1.9.2 "moto[server]==5.2.5" cfn-lint==1.58.0 maturin==1.16.0)
TOOLS=.tools
VENV=$TOOLS/venv
STAMP=$TOOLS/stamp
want_stamp="$(printf '%s\n' "${PY_PINS[@]}"; sha256sum package-lock.json 2>/dev/null | cut -c1-64)"

say() { printf '[install-tools] %s\n' "$*" >&2; }

mkdir -p "$TOOLS"
if [[ -f $STAMP && "$(cat "$STAMP")" == "$want_stamp" && -x $VENV/bin/moto_server && -x $VENV/bin/cargo-lambda && -x $VENV/bin/maturin && -d node_modules/osls ]]; then
  say "tools up to date (.tools/, node_modules/)"
else
  PY=${PYTHON:-python3}
  if [[ ! -x $VENV/bin/python ]]; then
    say "creating Python venv in $VENV"
    "$PY" -m venv "$VENV"
  fi
  say "installing ${PY_PINS[*]}"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PINS[@]}"
  if [[ -f package-lock.json ]]; then
    say "npm ci (osls and plugins, pinned in package-lock.json)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  printf '%s' "$want_stamp" > "$STAMP"
fi

# arm64 is what we deploy; the build falls back to x86_64 only when this target is missing.
if command -v rustup >/dev/null 2>&1; then
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    say "adding Rust target aarch64-unknown-linux-gnu"
    rustup target add aarch64-unknown-linux-gnu >&2 || say "WARNING: could not add aarch64-unknown-linux-gnu; builds will fall back to x86_64"
  fi
fi

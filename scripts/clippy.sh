#!/usr/bin/env bash
# Lints: clippy on every crate and target, warnings as errors. Clippy ships with rustup's default
# profile; a toolchain without it (a minimal profile) skips this step and says so, since the
# machine cannot fetch the component (`rustup component add clippy` where it can).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo clippy --version >/dev/null 2>&1; then
  echo "[clippy] not installed with this toolchain: skipped (rustup component add clippy)" >&2
  exit 0
fi
cargo clippy --quiet --workspace --all-targets -- -D warnings
echo "[clippy] no warnings" >&2

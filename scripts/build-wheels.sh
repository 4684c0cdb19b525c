#!/usr/bin/env bash
# Release wheels of `cost-jobs` for pip (Airflow workers, MWAA): manylinux2014 (glibc 2.17+),
# x86_64 and aarch64, cross-built with zig (from cargo-lambda's venv), into target/wheels/.
# Not part of `make test` (release builds take minutes each); the tests build a dev wheel for
# this machine (scripts/airflow-tests.sh). An aarch64 wheel is smoke-tested under qemu-user when
# `qemu-aarch64` is installed (Debian package qemu-user).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-tools.sh
export PATH="$PWD/.tools/venv/bin:$PATH"
OUT="${1:-target/wheels}"
for target in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
  if ! rustup target list --installed | grep -qx "$target"; then
    echo "[wheels] skipping $target: rustup target not installed (rustup target add $target)" >&2
    continue
  fi
  echo "[wheels] building $target (release, manylinux2014, zig)" >&2
  maturin build --release --compatibility manylinux2014 --zig --target "$target" -m crates/cost-jobs/Cargo.toml --out "$OUT"
done
if command -v qemu-aarch64 >/dev/null && ls "$OUT"/cost_jobs-*aarch64*.whl >/dev/null 2>&1; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  python3 -m zipfile -e "$(ls "$OUT"/cost_jobs-*aarch64*.whl | head -1)" "$tmp"
  qemu-aarch64 -L /usr/aarch64-linux-gnu "$tmp"/cost_jobs-*.data/scripts/cost-jobs --version
fi
ls -l "$OUT"

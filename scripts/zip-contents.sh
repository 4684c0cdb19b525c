#!/usr/bin/env bash
# docs/deploying.md's per-crate size table: both functions built with the release profile but
# their symbols kept (profile `release-symbols`), then scripts/zip-contents.py on each.
# x86_64 (the crates' shares are the same on arm64; the zips' sizes come from `make build`).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
cargo build --profile release-symbols --target x86_64-unknown-linux-gnu -p cost-etl --bin cost-etl -p connect-health --bin connect-health
dir="${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release-symbols"
for f in cost-etl connect-health; do
  python3 scripts/zip-contents.py "$dir/$f" "${TOP:-25}"
  echo
done

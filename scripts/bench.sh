#!/usr/bin/env bash
# `make bench`: every figure of the README's performance table, measured on release builds.
#
#   1. Release binaries for this machine (x86_64, the deployed profile, built by scripts/build.sh
#      exactly as the zips are, plus lambda-floor: a bare lambda_runtime function, the floor).
#   2. Cold start: init and init + first invocation, median and p90 of 30 runs each
#      (scripts/bench-cold-start.js).
#   3. Zip sizes: the arm64 release zips in target/lambda/ when `make build` made them (their
#      build.json says so); otherwise the sizes are skipped, saying how to get them.
#   4. connect-health: peak RSS of the real release binary at 2,000 x 10 and 10,000 x 10 tasks
#      (examples/bench.rs --peak-rss, with CONNECT_HEALTH_BIN = the binary from step 1; the
#      harness itself runs in the dev profile, it is not what is measured).
#   5. cost-etl: normalize throughput and batch wall times (examples/bench.rs, release profile).
#
# N=5 for a quick run. Takes ~25 min from a warm cache (two fat-LTO release builds).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${N:-30}
say() { printf '\n[bench] %s\n' "$*" >&2; }

out=target/lambda-bench/x86_64
say "1. release binaries for x86_64 (scripts/build.sh, LAMBDA_ARCH=x86_64) into $out"
BINARIES="connect-health cost-etl lambda-floor" LAMBDA_ARCH=x86_64 LAMBDA_DIR=$out bash scripts/build.sh
for f in connect-health cost-etl lambda-floor; do
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("bootstrap", sys.argv[2])' "$out/$f.zip" "$out/$f"
  chmod +x "$out/$f/bootstrap"
done

say "2. cold start, $N runs each"
node scripts/bench-cold-start.js -n "$N" lambda-floor="$out/lambda-floor/bootstrap" connect-health="$out/connect-health/bootstrap" cost-etl="$out/cost-etl/bootstrap"

say "3. zip sizes"
if [[ -f target/lambda/build.json ]] && grep -q '"architecture": "arm64"' target/lambda/build.json && grep -q '"profile": "release"' target/lambda/build.json; then
  for f in connect-health cost-etl; do
    awk -v f="$f" -v n="$(stat -c %s target/lambda/$f.zip)" 'BEGIN { printf "%-15s arm64 release zip %d bytes (%.2f MB)\n", f, n, n / 1e6 }'
  done
else
  echo "(no arm64 release zips in target/lambda: run 'make build' first for the deployed sizes)"
fi
for f in connect-health cost-etl lambda-floor; do
  printf '%-15s x86_64 release zip %s bytes\n' "$f" "$(stat -c %s $out/$f.zip)"
done

say "4. connect-health peak RSS, release binary"
export CARGO_TERM_COLOR=never
cargo build --workspace --all-targets --quiet
CONNECT_HEALTH_BIN=$ROOT/$out/connect-health/bootstrap "${CARGO_TARGET_DIR:-target}/debug/examples/connect-health-bench" --peak-rss

say "5. cost-etl throughput and batches, release"
cargo build --release --target x86_64-unknown-linux-gnu -p cost-etl --example cost-etl-bench --quiet
"${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/release/examples/cost-etl-bench"

#!/usr/bin/env bash
# How the release profile's opt-level was chosen (figures in docs/deploying.md, "Build profile").
# Builds both functions once per opt-level (3, s, z) into target/lambda-bench/<level>/, then
# prints zip and binary sizes and the init time to the first Runtime API request
# (scripts/bench-cold-start.js). Each level is a cargo profile of its own (`lambda-o3`, ...: the
# release profile with that opt-level), so a first run builds every dependency once per level:
# on a 2-core machine ~15 min per level. The real zips in target/lambda/ are not touched.
# cost-etl's own crate stays at opt-level "z" at every level: Cargo.toml's
# [profile.release.package.cost-etl] is inherited by these profiles and wins over their
# opt-level (cargo has no environment form for a package override of a hyphenated name), so
# for cost-etl only its dependencies vary. Comment that override out to compare cost-etl itself.
#   bash scripts/bench-opt-level.sh             # x86_64, so the binaries can be timed here
#   ARCH=arm64 LEVELS="3 s" bash scripts/bench-opt-level.sh   # sizes only
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=${ARCH:-x86_64}
LEVELS=${LEVELS:-3 s z}
BUILD=${BUILD-$LEVELS}   # the levels to (re)build; BUILD="" only measures what is there
N=${N:-30}
out=target/lambda-bench/$ARCH

for level in $BUILD; do
  start=$SECONDS
  # A profile of its own per level (release + opt-level), defined through cargo's environment.
  name=LAMBDA_O$(tr a-z A-Z <<<"$level")
  env "CARGO_PROFILE_${name}_INHERITS=release" "CARGO_PROFILE_${name}_OPT_LEVEL=$level" \
    LAMBDA_PROFILE="lambda-o$level" LAMBDA_ARCH=$ARCH LAMBDA_DIR=$out/$level bash scripts/build.sh
  echo "[bench] opt-level $level built in $((SECONDS - start))s" >&2
  for f in connect-health cost-etl; do
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("bootstrap", sys.argv[2])' "$out/$level/$f.zip" "$out/$level/$f"
    chmod +x "$out/$level/$f/bootstrap"
  done
done

printf '\n%-6s %-15s %12s %12s\n' level function zip-bytes binary-bytes
for level in $LEVELS; do
  for f in connect-health cost-etl; do
    printf '%-6s %-15s %12s %12s\n' "$level" "$f" "$(stat -c %s "$out/$level/$f.zip")" "$(stat -c %s "$out/$level/$f/bootstrap")"
  done
done

if [[ $ARCH == "$(uname -m)" || ( $ARCH == arm64 && $(uname -m) == aarch64 ) ]]; then
  args=()
  for level in $LEVELS; do
    for f in connect-health cost-etl; do args+=("$f@$level=$out/$level/$f/bootstrap"); done
  done
  echo
  node scripts/bench-cold-start.js -n "$N" "${args[@]}"
else
  echo "(init time not measured: $ARCH binaries do not run on $(uname -m))"
fi

#!/usr/bin/env bash
# Build both Lambda functions as the zips serverless.yml deploys:
#   target/lambda/connect-health.zip   (copy of cargo-lambda's target/lambda/connect-health/bootstrap.zip)
#   target/lambda/cost-etl.zip         (copy of cargo-lambda's target/lambda/cost-etl/bootstrap.zip)
#   target/lambda/build.json      {"architecture": "arm64"|"x86_64", ...} read by serverless.yml,
#                                 so the deployed architecture always matches the zips.
#
# arm64 (Graviton) is what we deploy. The build falls back to x86_64 only when the Rust target
# aarch64-unknown-linux-gnu is missing and cannot be added, and says so loudly.
# LAMBDA_ARCH=x86_64 forces x86_64 (e.g. to time the binaries on this machine).
# LAMBDA_PROFILE=<name> builds with another cargo profile, recorded in build.json (CI's stack
# checks use `dev` for speed; scripts/bench-opt-level.sh one profile per opt-level). Only a
# `release` build may be deployed to AWS: sls/build-guard.js refuses anything else.
#
# Why the copies: serverless uploads each artifact under its file name, so two artifacts both
# called bootstrap.zip share one S3 key and the second upload overwrites the first (one binary
# deployed as both functions). Distinct names give distinct keys.
#
# Cross-linking uses cargo-lambda's zig (PyPI `ziglang`, installed in .tools/venv by
# scripts/install-tools.sh). The release profile in Cargo.toml is used as written:
# `--disable-optimizations` stops cargo-lambda from overriding it (its defaults are thin LTO
# and panic=abort; we want fat LTO and unwinding so that a panic fails one invocation only).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '[build] %s\n' "$*" >&2; }
die() { printf '[build] ERROR: %s\n' "$*" >&2; exit 1; }

[[ -x .tools/venv/bin/cargo-lambda ]] || bash scripts/install-tools.sh
export PATH="$ROOT/.tools/venv/bin:$PATH"

# BINARIES adds others built the same way (scripts/bench.sh: the bare-runtime floor, lambda-floor).
read -r -a BINARIES <<<"${BINARIES:-connect-health cost-etl}"
# LAMBDA_DIR moves the output (scripts/bench-opt-level.sh builds variants next to the real zips).
LAMBDA_DIR=${LAMBDA_DIR:-target/lambda}

arch=${LAMBDA_ARCH:-arm64}
case $arch in
  arm64) triple=aarch64-unknown-linux-gnu ;;
  x86_64) triple=x86_64-unknown-linux-gnu ;;
  *) die "LAMBDA_ARCH must be arm64 or x86_64, not '$arch'" ;;
esac

has_target() { rustup target list --installed 2>/dev/null | grep -qx "$1"; }
if [[ $arch == arm64 ]] && command -v rustup >/dev/null && ! has_target "$triple"; then
  say "adding Rust target $triple"
  rustup target add "$triple" >&2 || true
  if ! has_target "$triple"; then
    cat >&2 <<EOF
[build] ##########################################################################
[build] WARNING: the Rust target $triple cannot be installed here.
[build] WARNING: FALLING BACK TO x86_64. The zips and serverless.yml (via
[build] WARNING: $LAMBDA_DIR/build.json) will say x86_64 (arm64 costs about 20% less per GB-second).
[build] ##########################################################################
EOF
    arch=x86_64
    triple=x86_64-unknown-linux-gnu
  fi
fi

profile=${LAMBDA_PROFILE:-release}
if [[ $profile == release ]]; then profile_args=(--release); else profile_args=(--profile "$profile"); fi
say "building ${BINARIES[*]} for $arch ($triple), profile $profile"
mkdir -p "$LAMBDA_DIR"
start=$SECONDS
bin_args=()
# -p as well as --bin: with --bin alone cargo resolves features for the whole workspace, and the
# CLI's (SSO, credential processes: ~150 KB) would end up in the functions' zips.
for b in "${BINARIES[@]}"; do bin_args+=(--package "$b" --bin "$b"); done
cargo lambda build "${profile_args[@]}" --disable-optimizations --output-format zip \
  --target "$triple" --lambda-dir "$LAMBDA_DIR" "${bin_args[@]}"
elapsed=$((SECONDS - start))

for b in "${BINARIES[@]}"; do
  [[ -f $LAMBDA_DIR/$b/bootstrap.zip ]] || die "cargo lambda did not produce $LAMBDA_DIR/$b/bootstrap.zip"
  cp "$LAMBDA_DIR/$b/bootstrap.zip" "$LAMBDA_DIR/$b.zip.tmp"
  mv "$LAMBDA_DIR/$b.zip.tmp" "$LAMBDA_DIR/$b.zip"
done

# Record what was built, next to the zips: serverless.yml reads the architecture from here.
{
  printf '{\n  "architecture": "%s",\n  "target": "%s",\n  "profile": "%s",\n  "functions": {' "$arch" "$triple" "$profile"
  sep=''
  for b in "${BINARIES[@]}"; do
    zip=$LAMBDA_DIR/$b.zip
    printf '%s\n    "%s": {"zip": "%s", "bytes": %s, "sha256": "%s"}' "$sep" "$b" "$zip" \
      "$(stat -c %s "$zip")" "$(sha256sum "$zip" | cut -c1-64)"
    sep=','
  done
  printf '\n  }\n}\n'
} > "$LAMBDA_DIR/build.json.tmp"
mv "$LAMBDA_DIR/build.json.tmp" "$LAMBDA_DIR/build.json"

for b in "${BINARIES[@]}"; do
  say "$(printf '%-15s %-30s %9s bytes' "$b" "$LAMBDA_DIR/$b.zip" "$(stat -c %s "$LAMBDA_DIR/$b.zip")")"
done
say "architecture: $arch (written to $LAMBDA_DIR/build.json); took ${elapsed}s"

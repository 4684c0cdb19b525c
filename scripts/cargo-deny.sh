#!/usr/bin/env bash
# Supply-chain check (deny.toml): bans (duplicate versions with their reasons, wildcards),
# licenses and sources. cargo-deny is pinned and installed once per machine into
# ~/.cache/pipeline-functions/tools (CI keeps $HOME/.cache), so CI does not rebuild it.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.20.2
ROOT="$HOME/.cache/pipeline-functions/tools/cargo-deny-$VERSION"
if [[ ! -x $ROOT/bin/cargo-deny ]]; then
  echo "[cargo-deny] installing cargo-deny $VERSION into $ROOT (once per machine)" >&2
  # Its own target dir: the workspace's build cache stays as the tests left it.
  CARGO_TARGET_DIR="$HOME/.cache/pipeline-functions/tools/cargo-deny-build" \
    cargo install cargo-deny --version "$VERSION" --locked --root "$ROOT" --quiet
  rm -rf "$HOME/.cache/pipeline-functions/tools/cargo-deny-build"
fi
"$ROOT/bin/cargo-deny" --log-level warn check bans licenses sources
echo "[cargo-deny] bans, licenses, sources: ok (advisories not checked: see deny.toml)" >&2

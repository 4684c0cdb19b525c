#!/usr/bin/env bash
# Deploy rehearsal: `serverless deploy --stage test` against a private moto_server, resource
# checks, `serverless plan` on a changed configuration (exit 2, FAIL/DATA LOSS/IAM), a second
# deploy and an empty plan (exit 0). The steps are in scripts/deploy_rehearsal.py.
# moto_server runs on a free 127.0.0.1 port and is stopped on exit, whatever the exit.
# Nothing here reaches AWS: every call goes to AWS_ENDPOINT_URL with throw-away credentials.
set -euo pipefail
cd "$(dirname "$0")/.."

[[ -x .tools/venv/bin/moto_server && -d node_modules/@aws-cdk/cloudformation-diff ]] || bash scripts/install-tools.sh
if [[ ! -f target/lambda/connect-health.zip || ! -f target/lambda/cost-etl.zip || ! -f target/lambda/build.json ]]; then
  echo "[rehearsal] function zips missing: building them (scripts/build.sh)" >&2
  bash scripts/build.sh
fi
exec .tools/venv/bin/python scripts/deploy_rehearsal.py "$@"

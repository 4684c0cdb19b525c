#!/usr/bin/env bash
# Deploy rehearsal against a private moto_server: the README's "Deploy to your AWS account"
# block run as written (secrets, clusters file, `serverless deploy` with its verification, the
# orchestrator's policy), resource checks, `serverless plan` on changed configurations (VPC
# params; FAIL/DATA LOSS/IAM), a deploy the verification refuses, a forced redeploy, the fix the
# failure prints, a verified deploy and an empty plan (exit 0). The steps are in
# scripts/deploy_rehearsal.py; `aws` is scripts/rehearsal_aws_cli.py there.
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

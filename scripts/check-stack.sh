#!/usr/bin/env bash
# Check the deployable stack offline: `serverless package --stage test` (no login, no network),
# cfn-lint on the CloudFormation template it makes, then assertions on that template for the
# properties this project depends on (the Python below says which and why).
#
# Needs the function zips; builds them with scripts/build.sh when they are missing (never fakes
# them: a template that points at a fake artifact proves nothing).
# STAGE=prod bash scripts/check-stack.sh checks another stage.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[check-stack] %s\n' "$*" >&2; }
die() { printf '[check-stack] FAIL: %s\n' "$*" >&2; exit 1; }

STAGE=${STAGE:-test}
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_DEPRECATION_DISABLE='*'
# `package` must not need AWS: no credentials, no endpoint, nothing to reach.
unset AWS_ENDPOINT_URL AWS_PROFILE

[[ -x .tools/venv/bin/cfn-lint && -d node_modules/osls ]] || bash scripts/install-tools.sh

missing=()
for zip in target/lambda/connect-health.zip target/lambda/cost-etl.zip target/lambda/build.json; do
  [[ -f $zip ]] || missing+=("$zip")
done
if ((${#missing[@]})); then
  say "missing ${missing[*]}: building them (scripts/build.sh)"
  bash scripts/build.sh
fi

say "serverless package --stage $STAGE"
rm -rf .serverless
npx --no-install serverless package --stage "$STAGE" >&2 || die "serverless package failed (see above)"
template=.serverless/cloudformation-template-update-stack.json
[[ -f $template ]] || die "serverless package did not write $template"

say "cfn-lint $template"
set +e
.tools/venv/bin/cfn-lint "$template"
lint=$?
set -e
# cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
if (( lint & 2 )) || (( lint & 1 )); then
  die "cfn-lint reported errors (exit $lint)"
elif (( lint )); then
  say "cfn-lint: warnings only (exit $lint), see above"
else
  say "cfn-lint: clean"
fi

say "asserting the template's properties"
python3 - "$template" target/lambda/build.json .serverless/serverless-state.json <<'PY' || die "template assertions failed (see above)"
# Stdlib only. Each check names what it protects; all failures are listed, not just the first.
import json, os, stat, sys, zipfile

template = json.load(open(sys.argv[1]))
build = json.load(open(sys.argv[2]))
state = json.load(open(sys.argv[3]))
res = template["Resources"]
failures = []

def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what, file=sys.stderr)
    if not ok:
        failures.append(what)

def of_type(t):
    return {k: v for k, v in res.items() if v["Type"] == t}

def getatt(value, logical_id):
    return value == {"Fn::GetAtt": [logical_id, "Arn"]}

functions = {"connectHealth": "ConnectHealthLambdaFunction", "costEtl": "CostEtlLambdaFunction"}
artifacts = {"connectHealth": "connect-health.zip", "costEtl": "cost-etl.zip"}
keys = set()
for name, lid in functions.items():
    fn = res.get(lid)
    check(fn is not None, f"function {name} ({lid}) exists")
    if fn is None:
        continue
    p = fn["Properties"]
    check(p.get("Runtime") == "provided.al2023" and p.get("Handler") == "bootstrap", f"{name}: provided.al2023, handler bootstrap")
    check(p.get("Architectures") == [build["architecture"]], f"{name}: architecture {p.get('Architectures')} is the built one ({build['architecture']})")
    key = p["Code"]["S3Key"]
    keys.add(key)
    check(key.endswith("/" + artifacts[name]), f"{name}: code S3 key ends with {artifacts[name]}")
    # The artifact serverless will upload: a real zip with an executable `bootstrap`.
    path = state["service"]["functions"][name]["package"]["artifact"]
    path = path if os.path.isabs(path) else os.path.join(os.getcwd(), path)
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo("bootstrap")
            executable = (info.external_attr >> 16) & stat.S_IXUSR
        check(bool(executable), f"{name}: artifact {os.path.relpath(path)} holds an executable bootstrap")
    except (OSError, KeyError, zipfile.BadZipFile) as e:
        check(False, f"{name}: artifact {path} is a zip with bootstrap ({e})")
    role = p.get("Role", {})
    check(isinstance(role, dict) and "Fn::GetAtt" in role, f"{name}: runs with its own role ({role})")
# Both zips are called bootstrap.zip by cargo-lambda; same-named artifacts share one S3 key and the
# second upload would overwrite the first, deploying one binary as both functions.
check(len(keys) == len(functions), f"each function has its own S3 key ({sorted(keys)})")
check("IamRoleLambdaExecution" not in res, "no shared serverless default role")

env = {name: res[lid]["Properties"].get("Environment", {}).get("Variables", {}) for name, lid in functions.items() if lid in res}
for var in ["CONNECT_CLUSTERS", "METRICS_NAMESPACE", "RESTART_STATE_TABLE", "DRY_RUN"]:
    check(var in env.get("connectHealth", {}), f"connectHealth env has {var}")
for var in ["OUTPUT_BUCKET", "IDEMPOTENCY_TABLE", "DLQ_URL", "SECRETS_PREFIX"]:
    check(var in env.get("costEtl", {}), f"costEtl env has {var}")

rules = [r for r in of_type("AWS::Events::Rule").values()
         if any(t.get("Arn") == {"Fn::GetAtt": ["ConnectHealthLambdaFunction", "Arn"]} for t in r["Properties"].get("Targets", []))]
check(len(rules) == 1 and rules[0]["Properties"].get("ScheduleExpression") == "rate(5 minutes)", "connectHealth: schedule rate(5 minutes)")

esms = [m["Properties"] for m in of_type("AWS::Lambda::EventSourceMapping").values()]
check(len(esms) == 1, "one event source mapping")
for m in esms:
    check(getatt(m.get("EventSourceArn"), "JobsQueue"), "costEtl reads the jobs queue")
    check("ReportBatchItemFailures" in m.get("FunctionResponseTypes", []), "SQS event: ReportBatchItemFailures")
    mc = m.get("ScalingConfig", {}).get("MaximumConcurrency")
    check(isinstance(mc, int) and mc >= 2, f"SQS event: MaximumConcurrency set ({mc})")
    check(isinstance(m.get("BatchSize"), int) and "MaximumBatchingWindowInSeconds" in m, "SQS event: batchSize and maximumBatchingWindow set")
    window = m.get("MaximumBatchingWindowInSeconds", 0)

q = res.get("JobsQueue", {}).get("Properties", {})
timeout = res.get("CostEtlLambdaFunction", {}).get("Properties", {}).get("Timeout", 6)
vis = q.get("VisibilityTimeout", 30)
check(vis >= 6 * timeout + window, f"jobs queue visibility {vis}s >= 6 x costEtl timeout {timeout}s + window {window}s")
redrive = q.get("RedrivePolicy", {})
check(redrive.get("maxReceiveCount", 0) >= 5, f"jobs queue maxReceiveCount {redrive.get('maxReceiveCount')} >= 5")
check(getatt(redrive.get("deadLetterTargetArn"), "DeadLetterQueue"), "jobs queue redrives to the DLQ")
check({"Ref": "DeadLetterQueue"} == env.get("costEtl", {}).get("DLQ_URL"), "costEtl DLQ_URL is the redrive DLQ")

# Key and TTL attribute of each table, as the functions write them (DESIGN.md, docs/connect-health.md).
for table, key, ttl in [("IdempotencyTable", "id", "expiration"), ("RestartStateTable", "connector_task", "expires_at")]:
    p = res.get(table, {}).get("Properties", {})
    check(p.get("BillingMode") == "PAY_PER_REQUEST", f"{table}: PAY_PER_REQUEST")
    check(p.get("KeySchema") == [{"AttributeName": key, "KeyType": "HASH"}]
          and p.get("AttributeDefinitions") == [{"AttributeName": key, "AttributeType": "S"}], f"{table}: key {key} (S)")
    check(p.get("TimeToLiveSpecification") == {"AttributeName": ttl, "Enabled": True}, f"{table}: TTL enabled on {ttl}")

b = res.get("OutputBucket", {}).get("Properties", {})
check(bool(b.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")), "output bucket encrypted")
pab = b.get("PublicAccessBlockConfiguration", {})
check(all(pab.get(k) is True for k in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"]), "output bucket blocks public access")

alarms = {a["Properties"].get("MetricName") or "insights" for a in of_type("AWS::CloudWatch::Alarm").values()}
check(len(of_type("AWS::CloudWatch::Alarm")) == 4, f"4 alarms (failed tasks, DLQ depth, 2x function errors): {sorted(alarms)}")
dlq_alarm = res.get("DeadLetterQueueDepthAlarm", {}).get("Properties", {})
check(dlq_alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible" and dlq_alarm.get("Threshold") == 0, "DLQ depth alarm: visible messages > 0")
failed = json.dumps(res.get("ConnectFailedTasksAlarm", {}).get("Properties", {}))
check("FailedTasks" in failed, "failed tasks alarm watches FailedTasks")

# Least privilege: no wildcard actions; Resource "*" only where the API has no resource ARN.
for lid, role in of_type("AWS::IAM::Role").items():
    if lid not in ("ConnectHealthRole", "CostEtlRole"):
        continue
    for pol in role["Properties"].get("Policies", []):
        for st in pol["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            check(all("*" not in a for a in actions), f"{lid}/{st.get('Sid')}: no wildcard actions")
            if st.get("Resource") == "*":
                check(actions == ["cloudwatch:PutMetricData"] and "cloudwatch:namespace" in json.dumps(st.get("Condition", {})),
                      f"{lid}/{st.get('Sid')}: Resource * only for PutMetricData, limited by namespace")

# Retry pacing: ChangeMessageVisibility on the jobs queue, and nowhere else.
pacing = []
for pol in res.get("CostEtlRole", {}).get("Properties", {}).get("Policies", []):
    for st in pol["PolicyDocument"]["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if "sqs:ChangeMessageVisibility" in actions:
            pacing.append(json.dumps(st.get("Resource")))
check(len(pacing) == 1 and "JobsQueue" in pacing[0] and "DeadLetterQueue" not in pacing[0],
      f"costEtl may change visibility on the jobs queue only: {pacing}")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
PY
say "OK: stage $STAGE packages, lints and has the properties we rely on"

#!/usr/bin/env bash
# Check the deployable stack offline: `serverless package --stage test` (no login, no network),
# cfn-lint on the CloudFormation template it makes, then assertions on that template for the
# properties this project depends on (the Python below says which and why): functions, queues,
# tables, bucket, IAM (one role per function, the network-interface policy of a function in a
# VPC, the orchestrator's managed policy statement by statement), and the operability pieces
# (alarms with their runbook links, JSON logs, the dashboard, the saved Logs Insights queries;
# docs/runbook.md).
#
# The stack has two shapes per function (in a VPC or not, docs/deploying.md "Private networks"),
# so it is packaged and checked three times: as the stage's params say, with connectHealth in a
# VPC, and with both functions in one (example subnet and security group ids via --param).
# CHECK_STACK_PARAMS="name=value name2=value2" adds --param values to every package (e.g. your
# own VPC ids). It also checks that a stage without a region is refused (sls/region.js).
#
# Needs the function zips; builds them with scripts/build.sh when they are missing (never fakes
# them: a template that points at a fake artifact proves nothing).
# STAGE=prod bash scripts/check-stack.sh checks another stage.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[check-stack] %s\n' "$*" >&2; }
die() { printf '[check-stack] FAIL: %s\n' "$*" >&2; exit 1; }

STAGE=${STAGE:-test}
# Any region: `package` makes the same template everywhere (ARNs use ${AWS::Region}).
REGION=${REGION:-us-east-1}
read -r -a extra_params <<<"${CHECK_STACK_PARAMS:-}"
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

# A stage of no params block (so only `default` applies, which must not name a region).
say "a stage without a region is refused"
set +e
no_region=$(npx --no-install serverless print --stage no-region-check 2>&1)
no_region_exit=$?
set -e
if (( no_region_exit == 0 )) || ! grep -q "no AWS region for stage 'no-region-check'" <<<"$no_region"; then
  printf '%s\n' "$no_region" >&2
  die "serverless print for a stage without a region param and without --region must fail with 'no AWS region' (sls/region.js)"
fi
say "  ok    serverless print --stage no-region-check without --region: refused, saying what to set"

# Example ids (never deployed): a shape is judged by the template, not by the ids existing.
CH_VPC=(connectHealthSubnetIds=subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788 connectHealthSecurityGroupIds=sg-0a1b2c3d4e5f60718)
CE_VPC=(costEtlSubnetIds=subnet-0c0ffee0c0ffee001 costEtlSecurityGroupIds=sg-0c0ffee0c0ffee001,sg-0c0ffee0c0ffee002)

check_shape() {
  local shape=$1; shift
  local params=("$@" "${extra_params[@]}")
  local args=()
  for p in "${params[@]}"; do args+=(--param "$p"); done
  say "shape '$shape': serverless package --stage $STAGE --region $REGION ${args[*]}"
  rm -rf .serverless
  npx --no-install serverless package --stage "$STAGE" --region "$REGION" "${args[@]}" >&2 || die "serverless package failed (see above)"
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

  say "asserting the template's properties (shape '$shape')"
  assert_template "$template" "$(printf '%s\n' "${params[@]}")"
}

assert_template() {
python3 - "$1" target/lambda/build.json .serverless/serverless-state.json "$2" <<'PY' || die "template assertions failed (see above)"
# Stdlib only. Each check names what it protects; all failures are listed, not just the first.
import json, os, re, stat, sys, zipfile

raw = json.load(open(sys.argv[1]))
build = json.load(open(sys.argv[2]))
state = json.load(open(sys.argv[3]))
# The --param values of this package (name=value per line), which win over the params: blocks.
cli_params = dict(line.split("=", 1) for line in sys.argv[4].splitlines() if "=" in line)
failures = []

def apply_conditions(t):
    """The template as CloudFormation deploys it with its parameter defaults (serverless passes
    no parameters): resources of false conditions left out, Fn::If taken, AWS::NoValue removed."""
    params = {k: str(v.get("Default", "")) for k, v in t.get("Parameters", {}).items()}
    conds = {}
    def scalar(e):
        return params[e["Ref"]] if isinstance(e, dict) and "Ref" in e else str(e)
    def ev(e):
        (fn, a), = e.items()
        if fn == "Fn::Equals": return scalar(a[0]) == scalar(a[1])
        if fn == "Fn::Not": return not ev(a[0])
        if fn == "Fn::And": return all(ev(x) for x in a)
        if fn == "Fn::Or": return any(ev(x) for x in a)
        if fn == "Condition": return named(a)
        raise ValueError(f"unsupported condition {e}")
    def named(n):
        if n not in conds:
            conds[n] = ev(t["Conditions"][n])
        return conds[n]
    for n in t.get("Conditions", {}):
        named(n)
    gone = object()
    def walk(v):
        if isinstance(v, list):
            return [x for x in (walk(i) for i in v) if x is not gone]
        if isinstance(v, dict):
            if list(v) == ["Fn::If"]:
                c, a, b = v["Fn::If"]
                return walk(a if conds[c] else b)
            if v == {"Ref": "AWS::NoValue"}:
                return gone
            return {k: w for k, w in ((k, walk(x)) for k, x in v.items()) if w is not gone}
        return v
    out = dict(t)
    for section in ("Resources", "Outputs"):
        out[section] = {k: walk(v) for k, v in t.get(section, {}).items() if v.get("Condition") is None or conds[v["Condition"]]}
    return out, conds, params

template, conditions, template_params = apply_conditions(raw)
res = template["Resources"]

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
for var in ["OUTPUT_BUCKET", "IDEMPOTENCY_TABLE", "DLQ_URL", "SECRETS_PREFIX", "METRICS_NAMESPACE"]:
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

# ---------------------------------------------------------------- alarms, logs, dashboard, queries
# The stage's params as packaged: --param values of this shape first, then the resolved
# `params:` blocks serverless-state keeps (a stage block wins over `default`).
stage = state["service"]["provider"]["stage"]
service = state["service"]["service"]
param_blocks = state["service"].get("initialServerlessConfig", {}).get("params", {}) or {}
def param(name):
    if name in cli_params:
        return cli_params[name]
    for block in (param_blocks.get(stage) or {}, param_blocks.get("default") or {}):
        if name in block:
            return block[name]
    return None

def slug(heading):
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

def metric_stat(alarm, name):
    """The MetricStat of `name` in a metric-math alarm, or {}."""
    for q in alarm.get("Metrics", []):
        if q.get("MetricStat", {}).get("Metric", {}).get("MetricName") == name:
            return q["MetricStat"]
    return {}

ns = param("metricsNamespace")
cluster_schema = f'SCHEMA("{ns}", Cluster)'
etl_ns = param("costEtlMetricsNamespace")
check(etl_ns is not None and env.get("costEtl", {}).get("METRICS_NAMESPACE") == etl_ns,
      f"costEtl METRICS_NAMESPACE is the costEtlMetricsNamespace param ({etl_ns})")

alarms = of_type("AWS::CloudWatch::Alarm")
expected_alarms = {"ClusterUnreachableAlarm", "ConnectFailedTasksAlarm", "ConnectNeedsHumanAlarm", "ConnectHealthErrorsAlarm",
                   "CostEtlErrorsAlarm", "JobsQueueAgeAlarm", "CostEtlFailuresAlarm", "DeadLetterQueueDepthAlarm"}
check(set(alarms) == expected_alarms, f"the 8 alarms, no more, no less: {sorted(alarms)}")

# Every alarm: notifies the topic when the stage says so, and its description ends with a link to
# a section that exists in docs/runbook.md, within CloudWatch's 1024 characters.
try:
    runbook = open("docs/runbook.md").read()
except OSError as e:
    runbook = ""
    check(False, f"docs/runbook.md readable ({e})")
anchors = {slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*$", runbook, re.M)}
runbook_url = param("runbookUrl")
for lid, alarm in sorted(alarms.items()):
    p = alarm["Properties"]
    check(p.get("ActionsEnabled") == param("alarmActionsEnabled") and isinstance(p.get("ActionsEnabled"), bool),
          f"{lid}: ActionsEnabled is the stage's alarmActionsEnabled ({p.get('ActionsEnabled')!r})")
    check(p.get("AlarmActions") == [{"Ref": "AlarmTopic"}] and p.get("OKActions") == [{"Ref": "AlarmTopic"}],
          f"{lid}: alarm and OK actions notify AlarmTopic")
    desc = p.get("AlarmDescription", "")
    link = re.search(r"Runbook: (\S+)#([\w-]+)$", desc)
    check(bool(link) and link.group(1) == runbook_url and link.group(2) in anchors,
          f"{lid}: description ends with 'Runbook: {runbook_url}#<a section of docs/runbook.md>' ({link and link.group(0)})")
    check(len(desc) <= 1024, f"{lid}: description {len(desc)} <= 1024 characters")
    # Metrics Insights alarms: cluster-level series only (billed per series; per-connector series are sparse).
    for q in p.get("Metrics", []):
        e = q.get("Expression", "")
        if e.strip().upper().startswith("SELECT"):
            check(cluster_schema in e and not re.search(r"\bConnector\b", e) and " WHERE " not in e.upper() and "GROUP BY" not in e.upper(),
                  f"{lid}: Metrics Insights over cluster-level series only ({e})")

def insights(lid):
    return " ".join(q.get("Expression", "") for q in alarms.get(lid, {}).get("Properties", {}).get("Metrics", []))

cu = alarms.get("ClusterUnreachableAlarm", {}).get("Properties", {})
check(f"SELECT MIN(ClusterReachable) FROM {cluster_schema}" in insights("ClusterUnreachableAlarm")
      and cu.get("ComparisonOperator") == "LessThanThreshold" and cu.get("Threshold") == 1,
      "ClusterUnreachableAlarm: MIN(ClusterReachable) over clusters < 1")
check(cu.get("TreatMissingData") == "breaching", "ClusterUnreachableAlarm: missing data is breaching (a silent checker alarms)")
check(cu.get("EvaluationPeriods") == 2 and cu.get("DatapointsToAlarm") == 2 and all(q.get("Period") == 300 for q in cu.get("Metrics", [])),
      "ClusterUnreachableAlarm: 2 of 2 periods of 300 s")
for lid, metric in [("ConnectFailedTasksAlarm", "FailedTasks"), ("ConnectNeedsHumanAlarm", "RestartsSkipped")]:
    p = alarms.get(lid, {}).get("Properties", {})
    check(f"SELECT MAX({metric}) FROM {cluster_schema}" in insights(lid) and p.get("ComparisonOperator") == "GreaterThanThreshold"
          and p.get("Threshold") == 0 and p.get("TreatMissingData") == "notBreaching", f"{lid}: MAX({metric}) over clusters > 0, notBreaching")
check("why was this task not restarted" in alarms.get("ConnectNeedsHumanAlarm", {}).get("Properties", {}).get("AlarmDescription", ""),
      "ConnectNeedsHumanAlarm: description names the saved query 'why was this task not restarted'")
dlq_alarm = alarms.get("DeadLetterQueueDepthAlarm", {}).get("Properties", {})
check(dlq_alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible" and dlq_alarm.get("Threshold") == 0
      and dlq_alarm.get("Dimensions") == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}],
      "DLQ depth alarm: visible messages of the DLQ > 0")
for lid, fn in [("ConnectHealthErrorsAlarm", "ConnectHealthLambdaFunction"), ("CostEtlErrorsAlarm", "CostEtlLambdaFunction")]:
    p = alarms.get(lid, {}).get("Properties", {})
    check(p.get("Namespace") == "AWS/Lambda" and p.get("MetricName") == "Errors"
          and p.get("Dimensions") == [{"Name": "FunctionName", "Value": {"Ref": fn}}], f"{lid}: Errors of {fn}")
age = alarms.get("JobsQueueAgeAlarm", {}).get("Properties", {})
check(age.get("Namespace") == "AWS/SQS" and age.get("MetricName") == "ApproximateAgeOfOldestMessage" and age.get("Statistic") == "Maximum"
      and age.get("Dimensions") == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["JobsQueue", "QueueName"]}}],
      "JobsQueueAgeAlarm: Maximum ApproximateAgeOfOldestMessage of the jobs queue")
check(age.get("Threshold") == param("jobsQueueMaxAgeSeconds") and age.get("ComparisonOperator") == "GreaterThanThreshold",
      f"JobsQueueAgeAlarm: > jobsQueueMaxAgeSeconds ({age.get('Threshold')} s)")
fail = alarms.get("CostEtlFailuresAlarm", {}).get("Properties", {})
for metric in ["JobsRetried", "JobsDeadLettered"]:
    ms = metric_stat(fail, metric)
    check(ms.get("Metric", {}).get("Namespace") == etl_ns and ms.get("Metric", {}).get("Dimensions") == [{"Name": "Service", "Value": "cost-etl"}]
          and ms.get("Stat") == "Sum" and ms.get("Period") == 900, f"CostEtlFailuresAlarm: Sum of {metric} ({etl_ns}, Service=cost-etl) over 900 s")
returned = [q for q in fail.get("Metrics", []) if q.get("ReturnData")]
check(len(returned) == 1 and "Expression" in returned[0] and fail.get("Threshold") == param("costEtlFailureThreshold")
      and fail.get("ComparisonOperator") == "GreaterThanThreshold" and fail.get("TreatMissingData") == "notBreaching",
      f"CostEtlFailuresAlarm: one expression (retried + dead-lettered) > costEtlFailureThreshold ({fail.get('Threshold')}), notBreaching")

# JSON logs with level filtering, into the log groups serverless creates (retention, IAM).
log_groups = {"connectHealth": "ConnectHealthLogGroup", "costEtl": "CostEtlLogGroup"}
for name, lid in functions.items():
    p = res.get(lid, {}).get("Properties", {})
    lc = p.get("LoggingConfig", {})
    check(lc.get("LogFormat") == "JSON", f"{name}: LoggingConfig.LogFormat JSON ({lc.get('LogFormat')})")
    check(lc.get("ApplicationLogLevel") == param("applicationLogLevel") and lc.get("SystemLogLevel") == param("systemLogLevel"),
          f"{name}: application/system log levels are the stage params ({lc.get('ApplicationLogLevel')}/{lc.get('SystemLogLevel')})")
    group = res.get(log_groups[name], {}).get("Properties", {}).get("LogGroupName")
    check(group == f"/aws/lambda/{p.get('FunctionName')}" and lc.get("LogGroup") in (None, group, {"Ref": log_groups[name]}),
          f"{name}: logs go to the serverless-created log group {group}")
# EMF lines carry no "level": Lambda files them under INFO, so a level above INFO drops the metrics.
etl_level = res.get("CostEtlLambdaFunction", {}).get("Properties", {}).get("LoggingConfig", {}).get("ApplicationLogLevel")
check(etl_level in ("TRACE", "DEBUG", "INFO"), f"costEtl: application log level keeps INFO lines, the EMF metrics ({etl_level})")

# Dashboard: one per stage; the body is JSON once CloudFormation's ${...} are substituted.
dashboards = of_type("AWS::CloudWatch::Dashboard")
check(len(dashboards) == 1, f"one dashboard ({sorted(dashboards)})")
dash = next(iter(dashboards.values()), {}).get("Properties", {})
check(dash.get("DashboardName") == f"{service}-{stage}", f"dashboard named {service}-{stage} ({dash.get('DashboardName')})")
body_src = dash.get("DashboardBody", {})
body_src = body_src.get("Fn::Sub", "") if isinstance(body_src, dict) else ""
check(isinstance(body_src, str) and body_src != "", "DashboardBody is a !Sub string")
pseudo = {"AWS::Region", "AWS::AccountId", "AWS::Partition", "AWS::StackName", "AWS::URLSuffix"}
refs = re.findall(r"\$\{([^!}][^}]*)\}", body_src)
bad = [r for r in refs if r not in pseudo and r.split(".")[0] not in res]
check(not bad, f"dashboard: every ${{...}} is a pseudo parameter or a resource of the stack ({bad})")
text = body_src.replace("${!", "\x00")
text = re.sub(r"\$\{([^}]*)\}", lambda m: "sub-" + re.sub(r"\W", "-", m.group(1)), text).replace("\x00", "${")
try:
    body = json.loads(text)
except ValueError as e:
    body = {}
    check(False, f"dashboard body parses as JSON ({e})")
widgets = body.get("widgets", [])
check(bool(widgets) and all(w.get("x", 0) + w.get("width", 6) <= 24 for w in widgets), f"dashboard: {len(widgets)} widgets within 24 columns")
expressions, named, stats_of, bad_ids = [], set(), {}, []
for w in widgets:
    ids = []
    for m in w.get("properties", {}).get("metrics", []):
        opts = m[-1] if m and isinstance(m[-1], dict) else {}
        if "id" in opts:
            ids.append(opts["id"])
        if "expression" in opts:
            expressions.append(opts["expression"])
        else:
            plain = [x for x in m if not isinstance(x, dict)]
            key = tuple(plain)
            named.add(key[:2])
            stats_of.setdefault(key, set()).add(opts.get("stat", w["properties"].get("stat")))
    if len(ids) != len(set(ids)) or not all(re.fullmatch(r"[a-z][a-zA-Z0-9_]*", i) for i in ids):
        bad_ids.append(w.get("properties", {}).get("title"))
check(not bad_ids, f"dashboard: metric ids unique per widget and valid ({bad_ids})")
for metric in ["ClusterReachable", "FailedTasks", "RunningTasks", "PausedTasks", "UnassignedTasks", "TasksRestarted", "RestartsSkipped"]:
    check(any(f"({metric}) FROM {cluster_schema} GROUP BY Cluster" in e for e in expressions),
          f"dashboard: {metric} per cluster (Metrics Insights, cluster-level series)")
check(not any(re.search(r"\bConnector\b", e) for e in expressions), "dashboard: no per-connector Metrics Insights query (dimension Connector)")
for metric in ["ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"]:
    check(("AWS/SQS", metric) in named, f"dashboard: AWS/SQS {metric}")
check(("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "sub-DeadLetterQueue-QueueName") in stats_of, "dashboard: DLQ depth")
for metric in ["JobsSucceeded", "JobsDuplicate", "JobsRetried", "JobsDeadLettered", "BatchDuration"]:
    check((etl_ns, metric) in named, f"dashboard: {etl_ns} {metric}")
for fn in ["ConnectHealthLambdaFunction", "CostEtlLambdaFunction"]:
    got = stats_of.get(("AWS/Lambda", "Duration", "FunctionName", f"sub-{fn}"), set())
    check({"p50", "p99"} <= got, f"dashboard: AWS/Lambda Duration p50 and p99 of {fn} ({sorted(s for s in got if s)})")
shown = [a for w in widgets if w.get("type") == "alarm" for a in w.get("properties", {}).get("alarms", [])]
names = sorted(a["Properties"].get("AlarmName", "") for a in alarms.values())
check(sorted(a.rsplit(":alarm:", 1)[-1] for a in shown) == names, f"dashboard: the alarm widget shows every alarm ({len(shown)} of {len(names)})")
log_queries = [w["properties"].get("query", "") for w in widgets if w.get("type") == "log"]
check(any("SOURCE 'sub-ConnectHealthLogGroup'" in q and 'fields.message = "task action"' in q and 'fields.action != "restarted"' in q for q in log_queries),
      "dashboard: log widget with the latest connect-health 'task action' lines that are not restarts")

# Saved Logs Insights queries, in the stage's folder, each scoped to the right log groups.
queries = {q["Properties"].get("Name"): q["Properties"] for q in of_type("AWS::Logs::QueryDefinition").values()}
connect_group, etl_group = {"Ref": "ConnectHealthLogGroup"}, {"Ref": "CostEtlLogGroup"}
for name, groups, needles in [
    ("why was this task not restarted", [connect_group], ['fields.message = "task action"', 'fields.action != "restarted"', "fields.rule", "fields.root_cause", "fields.detail"]),
    ("dead letters by reason", [etl_group], ['fields.outcome = "dead_lettered"', "count(*)", "by fields.reason_code"]),
    ("one invocation", [connect_group, etl_group], ["span.requestId", "sort @timestamp"]),
]:
    q = queries.get(f"{service}-{stage}/{name}", {})
    check(q.get("LogGroupNames") == groups and all(n in q.get("QueryString", "") for n in needles),
          f"saved query '{service}-{stage}/{name}' on {[g['Ref'] for g in groups]}")

# Least privilege: no wildcard actions; Resource "*" only where the API has no resource ARN:
# cloudwatch:PutMetricData (limited by its namespace condition) and the network-interface actions
# of a function in a VPC (Lambda creates and deletes those interfaces itself, so no ARN exists
# when the policy is written, and ec2:Describe* has no resource-level permissions).
VPC_ACTIONS = sorted(["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
                      "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"])
def as_list(v):
    return v if isinstance(v, list) else [v]
documents = []  # (where, statement)
for lid, role in of_type("AWS::IAM::Role").items():
    for pol in role["Properties"].get("Policies", []):
        documents += [(f"{lid}/{st.get('Sid')}", st) for st in pol["PolicyDocument"]["Statement"]]
for lid, pol in of_type("AWS::IAM::ManagedPolicy").items():
    documents += [(f"{lid}/{st.get('Sid')}", st) for st in pol["Properties"]["PolicyDocument"]["Statement"]]
for where, st in documents:
    actions = as_list(st["Action"])
    check(all("*" not in a for a in actions), f"{where}: no wildcard actions")
    if "*" in as_list(st.get("Resource")):
        if actions == ["cloudwatch:PutMetricData"]:
            check("cloudwatch:namespace" in json.dumps(st.get("Condition", {})), f"{where}: Resource * for PutMetricData (no resource ARN), limited by namespace")
        else:
            check(where == "LambdaVpcAccessPolicy/NetworkInterfaces" and sorted(actions) == VPC_ACTIONS,
                  f"{where}: Resource * only for the VPC network-interface actions (Lambda creates the interfaces, so no ARN exists beforehand; ec2:Describe* has no resource-level permissions): {actions}")

ec2_elsewhere = [where for where, st in documents if where != "LambdaVpcAccessPolicy/NetworkInterfaces"
                 and any(a.startswith("ec2:") for a in as_list(st["Action"]))]
check(not ec2_elsewhere, f"ec2 actions only in LambdaVpcAccessPolicy ({ec2_elsewhere})")

# ---------------------------------------------------------------- private networks (both shapes)
# A function is in a VPC exactly when both its params are set: VpcConfig with those ids, its role
# attaching LambdaVpcAccessPolicy; otherwise neither. The conditions read template parameters
# whose defaults are the stage params, so one serverless.yml makes both shapes.
def param_value(v):
    """Ref to a template parameter and Fn::Split over one, with the parameter defaults."""
    if isinstance(v, dict) and list(v) == ["Ref"] and v["Ref"] in template_params:
        return template_params[v["Ref"]]
    if isinstance(v, dict) and list(v) == ["Fn::Split"]:
        sep, text = v["Fn::Split"]
        return param_value(text).split(sep)
    return v
any_vpc = False
for name, lid, role_id, prefix in [("connectHealth", "ConnectHealthLambdaFunction", "ConnectHealthRole", "connectHealth"),
                                   ("costEtl", "CostEtlLambdaFunction", "CostEtlRole", "costEtl")]:
    subnets, groups = param(f"{prefix}SubnetIds") or "", param(f"{prefix}SecurityGroupIds") or ""
    in_vpc = bool(subnets) and bool(groups)
    any_vpc = any_vpc or in_vpc
    vpc = res.get(lid, {}).get("Properties", {}).get("VpcConfig")
    managed = res.get(role_id, {}).get("Properties", {}).get("ManagedPolicyArns")
    raw_vpc = raw["Resources"].get(lid, {}).get("Properties", {}).get("VpcConfig", {})
    check(isinstance(raw_vpc, dict) and list(raw_vpc) == ["Fn::If"] and raw_vpc["Fn::If"][0] == f"Has{prefix[0].upper()}{prefix[1:]}Vpc",
          f"{name}: VpcConfig under its own condition Has{prefix[0].upper()}{prefix[1:]}Vpc (one template for both shapes)")
    if in_vpc:
        got = {k: param_value(v) for k, v in (vpc or {}).items()}
        check(got == {"SubnetIds": subnets.split(","), "SecurityGroupIds": groups.split(",")},
              f"{name}: in the VPC, subnets {subnets} and security groups {groups} ({got})")
        check(managed == [{"Ref": "LambdaVpcAccessPolicy"}], f"{name}: its role attaches LambdaVpcAccessPolicy ({managed})")
    else:
        check(vpc is None, f"{name}: not in a VPC (no VpcConfig) without both {prefix}SubnetIds and {prefix}SecurityGroupIds")
        check(not managed, f"{name}: no network-interface permissions without a VPC (ManagedPolicyArns {managed})")
vpc_policy = res.get("LambdaVpcAccessPolicy")
if any_vpc:
    statements = (vpc_policy or {}).get("Properties", {}).get("PolicyDocument", {}).get("Statement", [])
    check(len(statements) == 1 and statements[0].get("Sid") == "NetworkInterfaces" and statements[0].get("Effect") == "Allow"
          and sorted(as_list(statements[0].get("Action"))) == VPC_ACTIONS and statements[0].get("Resource") == "*" and "Condition" not in statements[0],
          f"LambdaVpcAccessPolicy: exactly the network-interface actions Lambda needs, Resource * ({statements})")
    check(not (vpc_policy or {}).get("Properties", {}).keys() & {"Roles", "Users", "Groups"}, "LambdaVpcAccessPolicy: attached only through the functions' roles")
else:
    check(vpc_policy is None, "no function in a VPC: LambdaVpcAccessPolicy is not created")

# ---------------------------------------------------------------- the orchestrator's policy
# Exactly what cost-jobs enqueue / wait / dlq call (docs/cost-jobs.md, "IAM"), on this stage's two
# queues and idempotency table: no wildcard action or resource, nothing else.
def getatt_arn(lid):
    return {"Fn::GetAtt": [lid, "Arn"]}
leading = lambda *keys: {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(keys)}}
expected_orchestrator = {
    "JobsQueue": (["sqs:GetQueueAttributes", "sqs:SendMessage"], getatt_arn("JobsQueue"), None),
    "DeadLetterQueue": (["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
                        getatt_arn("DeadLetterQueue"), None),
    "RecordRuns": (["dynamodb:UpdateItem"], getatt_arn("IdempotencyTable"), leading("run#*")),
    "ReadRunsAndLedger": (["dynamodb:GetItem"], getatt_arn("IdempotencyTable"), leading("run#*", "cost-etl#*")),
}
orch = res.get("OrchestratorPolicy", {})
check(orch.get("Type") == "AWS::IAM::ManagedPolicy", "OrchestratorPolicy is a managed policy")
op = orch.get("Properties", {})
check(op.get("ManagedPolicyName") == f"{service}-{stage}-orchestrator", f"OrchestratorPolicy named {service}-{stage}-orchestrator ({op.get('ManagedPolicyName')})")
check(not op.keys() & {"Roles", "Users", "Groups"}, "OrchestratorPolicy: attached by the orchestrator's role, outside this stack")
got_statements = {st.get("Sid"): st for st in op.get("PolicyDocument", {}).get("Statement", [])}
check(set(got_statements) == set(expected_orchestrator), f"OrchestratorPolicy: statements {sorted(expected_orchestrator)} ({sorted(got_statements, key=str)})")
for sid, (actions, resource, condition) in expected_orchestrator.items():
    st = got_statements.get(sid, {})
    check(st.get("Effect") == "Allow" and sorted(as_list(st.get("Action"))) == actions and st.get("Resource") == resource
          and st.get("Condition") == condition and not st.keys() - {"Sid", "Effect", "Action", "Resource", "Condition"},
          f"OrchestratorPolicy/{sid}: exactly {actions} on {resource['Fn::GetAtt'][0]}" + (f" where {condition}" if condition else ""))
orch_json = json.dumps(op.get("PolicyDocument", {}).get("Statement", []))
check(not re.search(r'"(Action|Resource)": "\*"|:\*"', orch_json), "OrchestratorPolicy: no wildcard action or resource")
out = template.get("Outputs", {}).get("OrchestratorPolicyArn", {})
check(out.get("Value") == {"Ref": "OrchestratorPolicy"} and out.get("Export", {}).get("Name") == f"{service}-{stage}-OrchestratorPolicyArn",
      f"output OrchestratorPolicyArn, exported as {service}-{stage}-OrchestratorPolicyArn ({out})")

# Retry pacing: ChangeMessageVisibility on the jobs queue, and nowhere else.
pacing = []
for pol in res.get("CostEtlRole", {}).get("Properties", {}).get("Policies", []):
    for st in pol["PolicyDocument"]["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if "sqs:ChangeMessageVisibility" in actions:
            pacing.append(json.dumps(st.get("Resource")))
check(len(pacing) == 1 and "JobsQueue" in pacing[0] and "DeadLetterQueue" not in pacing[0],
      f"costEtl may change visibility on the jobs queue only: {pacing}")

# Dead letters and requeues: SendMessage on the DLQ and the jobs queue, nowhere else.
sends = []
for pol in res.get("CostEtlRole", {}).get("Properties", {}).get("Policies", []):
    for st in pol["PolicyDocument"]["Statement"]:
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if "sqs:SendMessage" in actions:
            targets = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            sends.extend(json.dumps(t) for t in targets)
check(len(sends) == 2 and any("DeadLetterQueue" in t for t in sends) and any("JobsQueue" in t for t in sends),
      f"costEtl may send to the DLQ and the jobs queue only: {sends}")

# The function dead-letters a job on the last delivery the redrive policy allows: both must agree.
etl_env = res["CostEtlLambdaFunction"]["Properties"]["Environment"]["Variables"]
redrive = res["JobsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
check(str(etl_env.get("MAX_RECEIVE_COUNT")) == str(redrive),
      f"costEtl MAX_RECEIVE_COUNT ({etl_env.get('MAX_RECEIVE_COUNT')}) equals the jobs queue's maxReceiveCount ({redrive})")

# ---------------------------------------------------------------- data safety and transport
# Point-in-time recovery on both tables as the stage says (on unless the stage is dev/test/local),
# deletion policies likewise; a stage the file does not name gets the safe defaults.
pitr = str(param("pointInTimeRecovery")).lower()
for table in ("IdempotencyTable", "RestartStateTable"):
    spec = res[table]["Properties"].get("PointInTimeRecoverySpecification", {})
    check(str(spec.get("PointInTimeRecoveryEnabled")).lower() == pitr, f"{table}: point-in-time recovery {pitr} (stage {stage})")
default_block = param_blocks.get("default") or {}
check(str(default_block.get("statefulDeletionPolicy")) == "Retain" and str(default_block.get("outputBucketVersioning")) == "Enabled"
      and str(default_block.get("pointInTimeRecovery")).lower() == "true",
      "a stage other than dev, test and local gets the safe defaults: Retain, versioning, point-in-time recovery")
# Both queues refuse plain-HTTP requests.
tls = [r for r in res.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
tls_ok = len(tls) == 1 and all(
    st.get("Effect") == "Deny" and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") in (False, "false")
    for st in tls[0]["Properties"]["PolicyDocument"]["Statement"]) and len(tls[0]["Properties"]["Queues"]) == 2
check(tls_ok, "the jobs queue and the DLQ deny requests without TLS")
# Per-connector metrics as the stage says (docs/cost.md).
health_env = res["ConnectHealthLambdaFunction"]["Properties"]["Environment"]["Variables"]
check(health_env.get("CONNECTOR_METRICS") == param("connectorMetrics"), f"connectHealth CONNECTOR_METRICS is the stage's ({param('connectorMetrics')})")
# SSM parameters next to Secrets Manager secrets, under the same prefixes and nowhere else.
for lid, prefix in (("ConnectHealthRole", param("connectSecretsPrefix")), ("CostEtlRole", param("secretsPrefix"))):
    gets = [st for pol in res[lid]["Properties"]["Policies"] for st in pol["PolicyDocument"]["Statement"] if st["Action"] == "ssm:GetParameter"]
    check(len(gets) == 1 and f":parameter/{prefix}/*" in json.dumps(gets[0]["Resource"]), f"{lid}: ssm:GetParameter on parameter/{prefix}/* only")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
PY
}

check_shape "as the stage's params say"
check_shape "connectHealth in a VPC" "${CH_VPC[@]}"
check_shape "both functions in a VPC" "${CH_VPC[@]}" "${CE_VPC[@]}"
say "OK: stage $STAGE packages, lints and has the properties we rely on (3 shapes)"

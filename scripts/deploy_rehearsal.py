"""Deploy rehearsal: the README's first deploy, then plans and redeploys, against a private moto_server.

Run through scripts/deploy-rehearsal.sh (it makes sure the tools and zips exist). Steps:
  1. start moto_server on a free 127.0.0.1 port (killed on exit, even if this process dies);
  2. plan before the first deploy (every resource a create), in a scratch copy of the service;
  3. the build guard refuses a deploy of a stage without a Kafka Connect cluster;
  4. the README's "Deploy to your AWS account" block, run as written (bash) with its variables
     set to this rehearsal's (STAGE=test, a region other than moto's default, so that a region
     that does not come from --region shows) and `aws` answered by scripts/rehearsal_aws_cli.py:
     secrets, the clusters file, `serverless deploy` (verified by sls/verify-deploy), outputs,
     the orchestrator's policy attached to a stand-in Airflow role;
  5. check the deployed resources through boto3 (functions, schedule, SQS mapping, queues,
     tables, bucket, log groups, alarms, secrets, the orchestrator's policy);
  6. plans: unchanged (exit 0); the VPC params set (the function's VpcConfig, its role's new
     managed policy and the policy; not deployed); a table key changed (replace + FAIL + DATA
     LOSS, not deployed); the batch size and an IAM action changed (the updates and IAM);
  7. deploy that change: moto applies the stack update but not the role's new inline policy, a
     real instance of "the stack says success, IAM does not", so the verification fails the
     deploy naming the role, the policy and the action; the next deploy, with nothing new, is
     forced and fails the same way; the command the failure prints (aws iam put-role-policy)
     puts the template's policy back, and the deploy after it is verified; plan says no changes.
Where moto does not model something CloudFormation does, the check reads the deployed template
instead and says so; an update that fails and rolls back is injected at the plugin's seam in
sls/test/verify-deploy.test.js (docs/deploying.md, "What moto does not model").
"""

import base64
import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGE = "test"
SERVICE = "pipeline-functions"
STACK = f"{SERVICE}-{STAGE}"
ACCOUNT = "123456789012"  # moto's
# Not moto's (nor the environment's) default region: the stack must land where --region says.
REGION = "eu-west-1"
ENV_REGION = "us-east-1"
ALARM_EMAIL = "alarms@example.com"
AIRFLOW_ROLE = "airflow-rehearsal"
CLUSTERS_URL = "https://connect.kafka.internal.example.com:8083"

failures = []


def step(text):
    print(f"\n[rehearsal] == {text}", file=sys.stderr, flush=True)


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what, file=sys.stderr, flush=True)
    if not ok:
        failures.append(what)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    # Runs in the child before exec: the kernel sends SIGTERM to moto_server when we die,
    # so not even a SIGKILL of this script leaves it running.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Moto:
    def __init__(self, logdir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(logdir, "moto.log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, ".tools/venv/bin/moto_server"), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not answer on {self.url} within 30 s")
                time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def scratch_service(workdir):
    """A copy of the service whose serverless.yml the rehearsal may edit; shares zips and node_modules."""
    svc = os.path.join(workdir, "service")
    os.makedirs(svc)
    shutil.copy(os.path.join(ROOT, "serverless.yml"), svc)
    shutil.copytree(os.path.join(ROOT, "sls"), os.path.join(svc, "sls"))
    # The committed example only: a stage's own clusters file is what the README's steps write.
    os.makedirs(os.path.join(svc, "config", "dev"))
    shutil.copy(os.path.join(ROOT, "config", "dev", "connect-clusters.example.json"), os.path.join(svc, "config", "dev"))
    os.symlink(os.path.join(ROOT, "node_modules"), os.path.join(svc, "node_modules"))
    os.makedirs(os.path.join(svc, "target"))
    os.symlink(os.path.join(ROOT, "target", "lambda"), os.path.join(svc, "target", "lambda"))
    return svc


def edit(svc, old, new):
    path = os.path.join(svc, "serverless.yml")
    text = open(path).read()
    if text.count(old) != 1:
        raise RuntimeError(f"rehearsal edit: expected exactly one {old!r} in serverless.yml")
    open(path, "w").write(text.replace(old, new))


def serverless(svc, env, *args, expect=(0,)):
    cmd = [os.path.join(svc, "node_modules", ".bin", "serverless"), *args, "--stage", STAGE, "--region", REGION]
    print(f"[rehearsal] $ serverless {' '.join(args)} --stage {STAGE} --region {REGION}", file=sys.stderr, flush=True)
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=svc, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    took = time.monotonic() - started
    if proc.returncode not in expect:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"serverless {args[0]} exited {proc.returncode} (expected {expect}) after {took:.0f}s")
    print(f"[rehearsal]   exit {proc.returncode} in {took:.1f}s", file=sys.stderr, flush=True)
    proc.output = proc.stdout + proc.stderr
    return proc


def readme_deploy_block():
    """The README's rehearsed block: the ```sh block after the `<!-- rehearsal: ... -->` marker."""
    text = open(os.path.join(ROOT, "README.md")).read()
    match = re.search(r"<!-- rehearsal:[^>]*-->\s*```sh\n(.*?)```", text, re.S)
    if not match:
        raise RuntimeError("README.md has no ```sh block after a '<!-- rehearsal: ... -->' marker")
    return match.group(1)


def with_rehearsal_values(block):
    """The block with its variables set to this rehearsal's values (each must be there, once)."""
    values = {"STAGE": STAGE, "REGION": REGION, "ALARM_EMAIL": ALARM_EMAIL, "AIRFLOW_ROLE": AIRFLOW_ROLE}
    for name, value in values.items():
        block, n = re.subn(rf"^{name}=\S+", f"{name}={value}", block, flags=re.M)
        if n != 1:
            raise RuntimeError(f"the README's deploy block must set {name}= once at the start of a line (found {n})")
    return block


def aws_stand_in(workdir):
    """A directory with an `aws` that runs scripts/rehearsal_aws_cli.py (CI has no AWS CLI)."""
    bin_dir = os.path.join(workdir, "bin")
    os.makedirs(bin_dir, exist_ok=True)
    path = os.path.join(bin_dir, "aws")
    with open(path, "w") as f:
        f.write(f'#!/bin/sh\nexec "{sys.executable}" "{os.path.join(ROOT, "scripts", "rehearsal_aws_cli.py")}" "$@"\n')
    os.chmod(path, 0o755)
    return bin_dir


def run_readme(svc, env, workdir):
    """Runs the README's deploy block in the scratch service, as bash; its output for checks."""
    script = os.path.join(workdir, "readme-deploy.sh")
    with open(script, "w") as f:
        f.write("set -euo pipefail\nset -x\n" + with_rehearsal_values(readme_deploy_block()))
    run_env = dict(env, PATH=f"{aws_stand_in(workdir)}{os.pathsep}{env.get('PATH', '')}")
    print(f"[rehearsal] $ bash <README.md, 'Deploy to your AWS account'> (STAGE={STAGE} REGION={REGION})", file=sys.stderr, flush=True)
    started = time.monotonic()
    proc = subprocess.run(["bash", script], cwd=svc, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout)
        raise RuntimeError(f"the README's deploy block failed (exit {proc.returncode}); its output is above")
    print(f"[rehearsal]   exit 0 in {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
    return proc.stdout


def plan(svc, env, *args):
    proc = serverless(svc, env, "plan", "--json", *args, expect=(0, 2))
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"serverless plan --json printed no JSON: {e}")
    return proc.returncode, report


def zip_sha256(path):
    return base64.b64encode(hashlib.sha256(open(path, "rb").read()).digest()).decode()


def mappings(lam, function_arn):
    # Filtered here: moto's FunctionName filter does not match a mapping created with an ARN.
    return [m for m in lam.list_event_source_mappings()["EventSourceMappings"] if m.get("FunctionArn") == function_arn]


def check_deployed(aws, build):
    cfn, lam, sqs, ddb, s3, events, logs, cw = (aws[k] for k in ("cloudformation", "lambda", "sqs", "dynamodb", "s3", "events", "logs", "cloudwatch"))
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    check(stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), f"stack {STACK} is {stack['StackStatus']}")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    body = cfn.get_template(StackName=STACK)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body  # boto3 parses JSON bodies itself
    res = template["Resources"]

    functions = {"connectHealth": "connect-health", "costEtl": "cost-etl"}
    roles, shas = set(), set()
    conf = {}
    for name, binary in functions.items():
        c = lam.get_function(FunctionName=f"{STACK}-{name}")["Configuration"]
        conf[name] = c
        check(c["Runtime"] == "provided.al2023" and c["Handler"] == "bootstrap", f"{name}: provided.al2023 / bootstrap")
        if c.get("Architectures") == [build["architecture"]]:
            check(True, f"{name}: architecture {build['architecture']}, as built")
        else:
            # moto's CloudFormation drops Architectures (its functions all say x86_64).
            arch = res[f"{name[0].upper()}{name[1:]}LambdaFunction"]["Properties"].get("Architectures")
            check(arch == [build["architecture"]], f"{name}: architecture {arch} as built (deployed template; moto ignores it)")
        local = zip_sha256(os.path.join(ROOT, "target", "lambda", f"{binary}.zip"))
        check(c["CodeSha256"] == local, f"{name}: deployed code is target/lambda/{binary}.zip (sha256 {local[:12]}...)")
        roles.add(c["Role"])
        shas.add(c["CodeSha256"])
    check(len(roles) == 2, "each function has its own role")
    check(len(shas) == 2, "the two functions run different zips")

    env_ch = conf["connectHealth"].get("Environment", {}).get("Variables", {})
    env_ce = conf["costEtl"].get("Environment", {}).get("Variables", {})
    check(env_ch.get("RESTART_STATE_TABLE") == f"{STACK}-restart-state", "connectHealth RESTART_STATE_TABLE is the restart-state table")
    check(env_ch.get("METRICS_NAMESPACE") == "KafkaConnect", "connectHealth METRICS_NAMESPACE")
    check(env_ce.get("IDEMPOTENCY_TABLE") == f"{STACK}-idempotency", "costEtl IDEMPOTENCY_TABLE is the idempotency table")
    check(env_ce.get("OUTPUT_BUCKET") == outputs.get("OutputBucketName"), "costEtl OUTPUT_BUCKET is the output bucket")
    check(env_ce.get("DLQ_URL") == outputs.get("DeadLetterQueueUrl"), "costEtl DLQ_URL is the DLQ")
    check(env_ce.get("SECRETS_PREFIX") == f"pipeline/{STAGE}/ad-platforms", "costEtl SECRETS_PREFIX")

    ch_arn = conf["connectHealth"]["FunctionArn"]
    rules = [r for r in events.list_rules()["Rules"]
             if any(t["Arn"] == ch_arn for t in events.list_targets_by_rule(Rule=r["Name"])["Targets"])]
    check(len(rules) == 1 and rules[0].get("ScheduleExpression") == "rate(5 minutes)" and rules[0].get("State") == "ENABLED",
          f"schedule rule rate(5 minutes) -> connectHealth ({[r.get('ScheduleExpression') for r in rules]})")

    jobs_url, dlq_url = outputs["JobsQueueUrl"], outputs["DeadLetterQueueUrl"]
    jobs = sqs.get_queue_attributes(QueueUrl=jobs_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    esms = mappings(lam, conf["costEtl"]["FunctionArn"])
    check(len(esms) == 1, "one event source mapping on costEtl")
    esm = esms[0] if esms else {}
    check(esm.get("EventSourceArn") == jobs["QueueArn"], "costEtl mapping reads the jobs queue")
    check(esm.get("FunctionResponseTypes") == ["ReportBatchItemFailures"], f"mapping FunctionResponseTypes {esm.get('FunctionResponseTypes')}")
    check(esm.get("ScalingConfig", {}).get("MaximumConcurrency") == 2, f"mapping MaximumConcurrency {esm.get('ScalingConfig')} (test stage: 2)")
    check(esm.get("BatchSize") == 10 and esm.get("MaximumBatchingWindowInSeconds") == 5,
          f"mapping BatchSize {esm.get('BatchSize')}, window {esm.get('MaximumBatchingWindowInSeconds')}")

    timeout = conf["costEtl"]["Timeout"]
    vis = int(jobs["VisibilityTimeout"])
    check(vis >= 6 * timeout, f"jobs queue visibility {vis}s >= 6 x {timeout}s")
    redrive = json.loads(jobs.get("RedrivePolicy", "{}"))
    check(redrive.get("deadLetterTargetArn") == dlq["QueueArn"] and int(redrive.get("maxReceiveCount", 0)) >= 5,
          f"jobs queue redrive -> DLQ after {redrive.get('maxReceiveCount')} receives")
    check(int(dlq["MessageRetentionPeriod"]) == 1209600, "DLQ keeps messages 14 days")

    for table, lid, key, ttl_attr in ((f"{STACK}-idempotency", "IdempotencyTable", "id", "expiration"),
                                      (f"{STACK}-restart-state", "RestartStateTable", "connector_task", "expires_at")):
        t = ddb.describe_table(TableName=table)["Table"]
        check(t["KeySchema"] == [{"AttributeName": key, "KeyType": "HASH"}], f"{table}: key {key}")
        check(t.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST", f"{table}: PAY_PER_REQUEST")
        ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") == "ENABLED":
            check(ttl.get("AttributeName") == ttl_attr, f"{table}: TTL on {ttl_attr}")
        else:
            # moto ignores TimeToLiveSpecification in CloudFormation; CloudFormation applies it.
            spec = res[lid]["Properties"].get("TimeToLiveSpecification")
            check(spec == {"AttributeName": ttl_attr, "Enabled": True},
                  f"{table}: TTL on {ttl_attr} (deployed template; moto does not apply it)")

    bucket = outputs["OutputBucketName"]
    s3.head_bucket(Bucket=bucket)
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    check(enc[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", f"bucket {bucket}: encrypted")
    pab = res["OutputBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    check(all(pab.values()) and len(pab) == 4, "bucket: public access blocked (deployed template; moto does not apply it)")

    groups = {g["logGroupName"]: g for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{STACK}-")["logGroups"]}
    for name in functions:
        g = groups.get(f"/aws/lambda/{STACK}-{name}")
        check(g is not None and g.get("retentionInDays") == 1, f"log group of {name} with the test stage's 1-day retention")

    # connect-health's clusters: the file the README's steps wrote, one line of JSON.
    clusters = json.loads(env_ch.get("CONNECT_CLUSTERS", "[]"))
    check([c.get("url") for c in clusters] == [CLUSTERS_URL] and clusters[0].get("auth_secret_id") == f"pipeline/{STAGE}/connect/main",
          f"connectHealth CONNECT_CLUSTERS is config/{STAGE}/connect-clusters.json as the README wrote it ({env_ch.get('CONNECT_CLUSTERS')})")

    # The secrets the README creates: where the roles may read them.
    names = sorted(x["Name"] for x in aws["secretsmanager"].list_secrets()["SecretList"])
    wanted = sorted([f"pipeline/{STAGE}/ad-platforms/{p}" for p in ("meta", "google_ads", "tiktok")] + [f"pipeline/{STAGE}/connect/main"])
    check(names == wanted, f"the README's secrets exist in {REGION}: {names}")
    for name in wanted:
        json.loads(aws["secretsmanager"].get_secret_value(SecretId=name)["SecretString"])

    # The alarm e-mail (--param alarmEmail): subscribed to the topic.
    subs = aws["sns"].list_subscriptions_by_topic(TopicArn=outputs["AlarmTopicArn"])["Subscriptions"]
    check([(x["Protocol"], x["Endpoint"]) for x in subs] == [("email", ALARM_EMAIL)], f"alarm topic: e-mail subscription {ALARM_EMAIL} ({subs})")

    # The orchestrator's policy: exported, attached to the stand-in Airflow role, exactly these statements.
    iam = aws["iam"]
    policy_arn = outputs.get("OrchestratorPolicyArn", "")
    # moto's ListExports leaves out exports a stack update added (serverless creates a bare stack,
    # then updates it); the output's ExportName is what it does model.
    export = next((o.get("ExportName") for o in stack.get("Outputs", []) if o["OutputKey"] == "OrchestratorPolicyArn"), None)
    check(export == f"{STACK}-OrchestratorPolicyArn" and policy_arn.endswith(f":policy/{STACK}-orchestrator"),
          f"output OrchestratorPolicyArn {policy_arn}, exported as {export}")
    attached = [a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=AIRFLOW_ROLE)["AttachedPolicies"]]
    check(attached == [policy_arn], f"the README attached it to Airflow's role {AIRFLOW_ROLE}: {attached}")
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{STACK}-idempotency"
    statements = {st["Sid"]: (sorted(st["Action"] if isinstance(st["Action"], list) else [st["Action"]]), st["Resource"], st.get("Condition"))
                  for st in document["Statement"]}
    leading = lambda *keys: {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(keys)}}
    check(statements == {
        "JobsQueue": (["sqs:GetQueueAttributes", "sqs:SendMessage"], jobs["QueueArn"], None),
        "DeadLetterQueue": (["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], dlq["QueueArn"], None),
        "RecordRuns": (["dynamodb:UpdateItem"], table_arn, leading("run#*")),
        "ReadRunsAndLedger": (["dynamodb:GetItem"], table_arn, leading("run#*", "cost-etl#*")),
    }, f"orchestrator policy: the cost-jobs calls on this stage's queues and table only ({statements})")

    alarms = [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=f"{STACK}-")["MetricAlarms"]]
    declared = sorted(r["Properties"]["AlarmName"] for r in res.values() if r["Type"] == "AWS::CloudWatch::Alarm")
    if alarms:
        check(sorted(alarms) == declared, f"alarms {declared}")
    else:
        # moto's CloudFormation skips AWS::CloudWatch::Alarm (and AWS::S3::BucketPolicy).
        expected = sorted(f"{STACK}-{name}" for name in ["connect-failed-tasks", "jobs-dlq-not-empty", "connectHealth-errors", "costEtl-errors",
                                                          "connect-cluster-unreachable", "connect-needs-human", "jobs-queue-age", "costEtl-failures"])
        check(declared == expected, f"the 8 alarms in the deployed template (moto does not create them): {declared}")


def main():
    build = json.load(open(os.path.join(ROOT, "target", "lambda", "build.json")))
    workdir = tempfile.mkdtemp(prefix="deploy-rehearsal-")
    moto = None
    started = time.monotonic()
    try:
        step("starting moto_server")
        moto = Moto(workdir)
        print(f"[rehearsal] moto_server at {moto.url} (pid {moto.proc.pid})", file=sys.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # The environment's region is not the deploy's: that one comes from --region.
            "AWS_REGION": ENV_REGION,
            "AWS_DEFAULT_REGION": ENV_REGION,
            # Never read the developer's real profiles.
            "AWS_CONFIG_FILE": os.path.join(workdir, "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(workdir, "no-aws-credentials"),
            "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off",
            "NODE_NO_WARNINGS": "1",
            # moto answers at once; serverless polls the stack every 5 s by default.
            "SLS_AWS_MONITORING_FREQUENCY": "300",
        })
        session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        aws = {s: session.client(s, endpoint_url=moto.url) for s in
               ("cloudformation", "lambda", "sqs", "dynamodb", "s3", "events", "logs", "cloudwatch", "secretsmanager", "sns", "iam")}
        svc = scratch_service(workdir)

        step("plan before the first deploy: everything is created")
        code, report = plan(svc, env)
        check(code == 2 and not report["stackExists"], f"plan exits 2 and knows the stack does not exist (exit {code})")
        check(all(r["action"] == "create" for r in report["resources"]) and len(report["resources"]) > 15,
              f"every resource is a create ({len(report['resources'])})")

        step("the build guard: no deploy of a stage without a Kafka Connect cluster")
        proc = serverless(svc, env, "deploy", expect=(1,))
        check(f"stage '{STAGE}' has no Kafka Connect cluster configured" in proc.output and f"config/{STAGE}/connect-clusters.json" in proc.output,
              "refused, saying which file (or param) to set")
        check(not aws["cloudformation"].list_stacks()["StackSummaries"], "nothing was created")

        step("the README's first deploy ('Deploy to your AWS account'), as written")
        # The Airflow role exists before (the README attaches the policy to it).
        aws["iam"].create_role(RoleName=AIRFLOW_ROLE, AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "airflow.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        output = run_readme(svc, env, workdir)
        check(f"Deploy verified {STACK}: UPDATE_COMPLETE" in output, "the deploy was verified (stack status, events, IAM as in the template)")
        check("OrchestratorPolicyArn: arn:aws:iam::" in output, "serverless info printed the orchestrator's policy ARN")
        other = session.client("cloudformation", endpoint_url=moto.url, region_name=ENV_REGION)
        check(not other.list_stacks()["StackSummaries"], f"nothing in {ENV_REGION} (AWS_REGION): the region came from --region")

        step("checking the deployed resources")
        check_deployed(aws, build)

        # As the README advises: the alarm e-mail in the stage's params, so that later deploys
        # (which pass no --param) keep the subscription.
        edit(svc, "  test:\n    logRetentionInDays: 1\n", f"  test:\n    logRetentionInDays: 1\n    alarmEmail: {ALARM_EMAIL}\n")

        step("plan on the unchanged stack")
        code, report = plan(svc, env)
        check(code == 0 and not report["changed"], f"no changes, exit 0 (exit {code})")
        check([c["status"] for c in report["code"]] == ["unchanged", "unchanged"], f"both functions: code unchanged {[c['status'] for c in report['code']]}")

        step("plan with connectHealth in a VPC (the stage params; not deployed)")
        code, report = plan(svc, env, "--param", "connectHealthSubnetIds=subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788",
                            "--param", "connectHealthSecurityGroupIds=sg-0a1b2c3d4e5f60718")
        check(code == 2, f"plan exits 2 (exit {code})")
        changed = {r["logicalId"]: (r["action"], r["properties"]) for r in report["resources"]}
        check(changed == {"ConnectHealthLambdaFunction": ("update", ["VpcConfig"]), "ConnectHealthRole": ("update", ["ManagedPolicyArns"]),
                          "LambdaVpcAccessPolicy": ("create", [])},
              f"the function's VpcConfig, its role's managed policy, the network-interface policy ({changed})")
        check(report["iam"]["broadened"] and [w["level"] for w in report["warnings"]] == ["IAM"], "IAM: permissions broaden; no FAIL / DATA LOSS")

        step("plan with the restart-state table's key changed (not deployed)")
        key = """        AttributeDefinitions:
          - AttributeName: connector_task
            AttributeType: S
        KeySchema:
          - AttributeName: connector_task
            KeyType: HASH
        TimeToLiveSpecification:
          AttributeName: expires_at
          Enabled: true

    # ---------------------------------------------------------------- output bucket"""
        changed_key = key.replace("AttributeName: connector_task", "AttributeName: pk")
        edit(svc, key, changed_key)
        code, report = plan(svc, env)
        check(code == 2, f"plan exits 2 (exit {code})")
        table = [r for r in report["resources"] if r["logicalId"] == "RestartStateTable"]
        check(len(table) == 1 and table[0]["action"] == "replace" and "KeySchema" in table[0]["replacingProperties"],
              f"RestartStateTable replaced because of KeySchema ({table})")
        levels = {(w["level"], w["logicalId"]) for w in report["warnings"]}
        check(("FAIL", "RestartStateTable") in levels, "FAIL: named table cannot be replaced")
        check(("DATA LOSS", "RestartStateTable") in levels, "DATA LOSS: the table's items")
        edit(svc, changed_key, key)

        step("plan with batchSize 10 -> 5 and one more IAM action")
        edit(svc, "    batchSize: 10\n", "    batchSize: 5\n")
        edit(svc, "                  Action: s3:PutObject\n", "                  Action: [s3:PutObject, s3:GetObject]\n")
        code, report = plan(svc, env)
        check(code == 2, f"plan exits 2 (exit {code})")
        changed = {r["logicalId"]: r for r in report["resources"]}
        check(set(changed) == {"CostEtlEventSourceMappingSQSJobsQueue", "CostEtlRole"}, f"only the mapping and the role change ({sorted(changed)})")
        check(changed.get("CostEtlEventSourceMappingSQSJobsQueue", {}).get("properties") == ["BatchSize"], "mapping: BatchSize")
        check(report["iam"]["broadened"] and any(w["level"] == "IAM" for w in report["warnings"]), "IAM: permissions broaden")
        check(not any(w["level"] in ("FAIL", "DATA LOSS") for w in report["warnings"]), "no FAIL / DATA LOSS")

        step("deploying the change: moto updates the stack but not the role's policy, and the verification says so")
        proc = serverless(svc, env, "deploy", expect=(1,))
        check("did not take effect as the template says" in proc.output
              and re.search(r"CostEtlRole \(AWS::IAM::Role \S+\), policy cost-etl: statement WriteCosts: Action s3:GetObject in the template but not in the account", proc.output),
              "exit 1 naming the role, the policy, the statement and the action")
        fix = re.search(r"aws iam put-role-policy --role-name \S+ --policy-name cost-etl --policy-document file://\S+", proc.output)
        check(bool(fix), "and the command that puts the template's policy back")
        fn_arn = aws["lambda"].get_function(FunctionName=f"{STACK}-costEtl")["Configuration"]["FunctionArn"]
        esms = mappings(aws["lambda"], fn_arn)
        check(len(esms) == 1, f"still one mapping on costEtl ({len(esms)})")
        esm = esms[0] if esms else {}
        check(esm.get("BatchSize") == 5, f"deployed mapping BatchSize {esm.get('BatchSize')}")
        check(esm.get("FunctionResponseTypes") == ["ReportBatchItemFailures"] and esm.get("ScalingConfig", {}).get("MaximumConcurrency") == 2,
              "mapping keeps ReportBatchItemFailures and MaximumConcurrency after the update")

        step("deploying again with nothing new: forced, and still refused while IAM differs")
        proc = serverless(svc, env, "deploy", expect=(1,))
        check("Deploying even if serverless finds nothing new to upload: IAM in the account differs from this template" in proc.output
              and "No changes to deploy" not in proc.output, "not skipped as 'no changes': forced")
        check("Action s3:GetObject in the template but not in the account" in proc.output, "the same failure, named again")

        step("doing what the failure says (aws iam put-role-policy), then deploying: verified")
        if fix:
            run_env = dict(env, PATH=f"{aws_stand_in(workdir)}{os.pathsep}{env.get('PATH', '')}")
            subprocess.run(["bash", "-c", fix.group(0) + f" --region {REGION}"], cwd=svc, env=run_env, check=True, stdout=subprocess.DEVNULL)
        proc = serverless(svc, env, "deploy")
        check(f"Deploy verified {STACK}: UPDATE_COMPLETE" in proc.output, "deploy verified")

        step("plan after the deploy")
        proc = serverless(svc, env, "plan", expect=(0, 2))
        check(proc.returncode == 0 and "No changes." in proc.stdout, f"text plan says no changes, exit {proc.returncode}")
    finally:
        if moto:
            moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    took = time.monotonic() - started
    if failures:
        print(f"\n[rehearsal] FAILED: {len(failures)} check(s) in {took:.0f}s:", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"\n[rehearsal] OK: the README's deploy, verified, planned and redeployed against moto in {took:.0f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    # SIGTERM (e.g. a CI timeout) runs the clean-up in main()'s finally, like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"[rehearsal] ERROR: {e}", file=sys.stderr)
        sys.exit(1)

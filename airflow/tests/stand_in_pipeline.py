"""A stand-in for `local-pipeline --serve`: an env file like the one it writes, accounts files, and
a `cost-jobs` that keeps each run's record in a folder instead of DynamoDB.

It follows the CLI contract closely enough for Airflow to run the whole DAG against it: enqueue
adds its job count to the run once per (run, platform, range) however often it is retried; a
run is finished on the third look; jobs of an accounts file named `*_bad.txt` are dead-lettered;
every call without the connection's AWS settings in its environment fails as an AWS failure
(exit 3). Jobs are one per account (the DAG's four days fit one job).
"""

from __future__ import annotations

import stat
import sys
from pathlib import Path

SCRIPT = r'''#!{python}
import hashlib, json, os, sys
from pathlib import Path

state = Path({state!r})
args = sys.argv[1:]
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL"):
    if not os.environ.get(name):
        sys.stderr.write(f"no {{name}} in the environment: the Airflow connection did not reach cost-jobs\n")
        sys.exit(3)

def option(name):
    return args[args.index(name) + 1] if name in args else None

if "--json" not in args or not option("--run-id") or not option("--ledger-table"):
    sys.stderr.write("the provider must pass --run-id, --ledger-table and --json\n")
    sys.exit(64)

run = option("--run-id")
record_file = state / (hashlib.sha256(run.encode()).hexdigest() + ".json")
record = json.loads(record_file.read_text()) if record_file.exists() else {{"parts": {{}}, "looks": 0}}

if args[0] == "enqueue":
    platform, accounts_file = option("--platform"), option("--accounts-file")
    accounts = [line.strip() for line in open(accounts_file) if line.strip() and not line.startswith("#")]
    days = f"{{option('--from')}}..{{option('--to')}}"
    part = f"{{platform}} {{days}}"
    sent = 0
    if part not in record["parts"]:
        dead = [f"{{platform}}/{{a}}/{{days}}" for a in accounts] if accounts_file.endswith("_bad.txt") else []
        record["parts"][part] = {{"jobs": len(accounts), "dead": dead}}
        sent = len(accounts)
    record_file.write_text(json.dumps(record))
    print(json.dumps({{"run_id": run, "jobs": len(accounts), "sent": sent}}))
    sys.exit(0)

if args[0] == "wait" and "--once" in args:
    record["looks"] += 1
    record_file.write_text(json.dumps(record))
    expected = sum(p["jobs"] for p in record["parts"].values())
    finished = record["looks"] >= 3
    dead = [
        {{"job": job, "reason_code": "platform.invalid_credentials", "reason": "the stand-in peer rejects this account"}}
        for p in record["parts"].values() for job in p["dead"]
    ] if finished else []
    print(json.dumps({{"run_id": run, "expected": expected, "done": expected - len(dead) if finished else 0,
                      "dead_lettered": dead, "finished": finished}}))
    for d in dead:
        sys.stderr.write(f"dead-lettered: {{d['job']}} {{d['reason_code']}}: {{d['reason']}}\n")
    sys.exit(75 if not finished else 1 if dead else 0)

sys.stderr.write("the stand-in knows only `enqueue` and `wait --once`\n")
sys.exit(64)
'''

ACCOUNTS = {"meta": ("1001\n1002\n", "1004\n"), "google_ads": ("123-456-7890\n", "999-999-9999\n"), "tiktok": ("7098765432109876543\n", "7000000000000000000\n")}


def make_pipeline(directory: Path) -> Path:
    """Write the stand-in into `directory` and return its env file."""
    state = directory / "runs"
    accounts = directory / "accounts"
    state.mkdir(parents=True)
    accounts.mkdir()
    binary = directory / "cost-jobs"
    binary.write_text(SCRIPT.format(python=sys.executable, state=str(state)))
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    for platform, (good, bad) in ACCOUNTS.items():
        (accounts / f"{platform}_accounts.txt").write_text(good)
        (accounts / f"{platform}_accounts_bad.txt").write_text(bad)
    env_file = directory / "pipeline.env"
    env_file.write_text(
        "AWS_ENDPOINT_URL=http://127.0.0.1:9\n"
        "AWS_REGION=eu-west-1\n"
        "AWS_ACCESS_KEY_ID=AKIASTANDIN\n"
        "AWS_SECRET_ACCESS_KEY=stand-in-secret\n"
        "COST_JOBS_QUEUE_URL=http://127.0.0.1:9/123456789012/pipeline-functions-test-jobs\n"
        "COST_JOBS_LEDGER_TABLE=pipeline-functions-test-idempotency\n"
        f"COST_JOBS_BINARY={binary}\n"
        f"ACCOUNTS_DIR={accounts}\n"
    )
    return env_file

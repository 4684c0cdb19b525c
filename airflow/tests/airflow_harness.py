"""Runs airflow/dags/ad_costs_daily.py in real Airflow against a pipeline described by an env
file of `KEY=VALUE` lines, and checks the two runs the README promises.

Airflow: its own AIRFLOW_HOME and sqlite database, `airflow db migrate` once, the `aws_default`
connection made with `airflow connections add` from the file's AWS settings (endpoint_url
extra), then `airflow dags test` (tasks and triggers in-process: Airflow 3 has no
SequentialExecutor). No AWS_* or COST_JOBS_* variable of the caller reaches Airflow, so AWS
settings can only come through the connection.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

DAG_ID = "ad_costs_daily"
PLATFORMS = ("meta", "google_ads", "tiktok")
SENSOR = "wait_for_cost_etl"
DAGS = Path(__file__).resolve().parents[1] / "dags"
AIRFLOW = Path(sys.executable).with_name("airflow")
REQUIRED = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "COST_JOBS_QUEUE_URL",
    "COST_JOBS_LEDGER_TABLE",
    "ACCOUNTS_DIR",
)  # and COST_JOBS_BINARY; without it, the `cost-jobs` of the installed wheel runs
DAG_TEST_TIMEOUT = 180  # a run's own limit; the pipeline drains a few dozen jobs in seconds
# Two DAG runs with their own run ids, so the good run's jobs and the bad run's are counted apart.
GOOD_DAY = date.today()
BAD_DAY = date.today() - timedelta(days=1)


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path}: not KEY=VALUE: {line!r}"
            values[key.strip()] = value.strip()
    missing = [key for key in REQUIRED if not values.get(key)]
    assert not missing, f"{path} lacks {missing}"
    return values


@dataclass
class Airflow:
    home: Path
    env: dict[str, str]

    def run(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120):
        try:
            return subprocess.run(
                [str(AIRFLOW), *args],
                env={**self.env, **(extra_env or {})},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            stuck = subprocess.CompletedProcess(e.cmd, -9, _text(e.stdout), _text(e.stderr))
            raise AssertionError(f"`airflow {' '.join(args)}` still running after {timeout} s\n{output(stuck)}") from None

    def dags_test(self, day: date, extra_env: dict[str, str] | None = None):
        return self.run("dags", "test", DAG_ID, day.isoformat(), extra_env=extra_env, timeout=DAG_TEST_TIMEOUT)

    def task_instances(self, day: date) -> dict[str, tuple[str, int]]:
        """task_id -> (state, try_number) in the DAG run of `day`, from Airflow's database."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            rows = db.execute(
                "SELECT ti.task_id, ti.state, ti.try_number FROM task_instance ti "
                "JOIN dag_run dr ON dr.dag_id = ti.dag_id AND dr.run_id = ti.run_id "
                "WHERE ti.dag_id = ? AND date(dr.logical_date) = ?",
                (DAG_ID, day.isoformat()),
            ).fetchall()
        return {task_id: (state, try_number) for task_id, state, try_number in rows}


def start_airflow(home: Path, env_file: Path) -> Airflow:
    pipeline = read_env_file(env_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "COST_JOBS_", "AIRFLOW"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        # The DAG's settings as a deployment gives them: Variables (here from the environment).
        AIRFLOW_VAR_COST_JOBS_QUEUE_URL=pipeline["COST_JOBS_QUEUE_URL"],
        AIRFLOW_VAR_COST_JOBS_LEDGER_TABLE=pipeline["COST_JOBS_LEDGER_TABLE"],
        AIRFLOW_VAR_COST_JOBS_ACCOUNTS_DIR=pipeline["ACCOUNTS_DIR"],
        # Short waits for a test: the trigger looks every second, the sensor retries after 2 s.
        COST_JOBS_POLL_SECONDS="1",
        COST_JOBS_RETRY_DELAY_SECONDS="2",
    )
    if pipeline.get("COST_JOBS_BINARY"):
        env["COST_JOBS_BINARY"] = pipeline["COST_JOBS_BINARY"]
    airflow = Airflow(home, env)
    migrated = airflow.run("db", "migrate", timeout=300)
    assert migrated.returncode == 0, output(migrated)
    airflow.run("connections", "delete", "aws_default")  # none is expected; a default one must not win
    extra = {"region_name": pipeline["AWS_REGION"], "endpoint_url": pipeline["AWS_ENDPOINT_URL"]}
    added = airflow.run(
        "connections", "add", "aws_default", "--conn-type", "aws",
        "--conn-login", pipeline["AWS_ACCESS_KEY_ID"], "--conn-password", pipeline["AWS_SECRET_ACCESS_KEY"],
        "--conn-extra", json.dumps(extra),
    )
    assert added.returncode == 0, output(added)
    return airflow


def _text(value: bytes | str | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value or ""


def output(result: subprocess.CompletedProcess) -> str:
    return f"--- stdout\n{result.stdout[-20000:]}\n--- stderr\n{result.stderr[-20000:]}"


def check_the_run_succeeds_when_every_job_lands(airflow: Airflow) -> None:
    result = airflow.dags_test(GOOD_DAY)
    assert result.returncode == 0, output(result)
    expected = {f"enqueue_{p}": ("success", 1) for p in PLATFORMS} | {SENSOR: ("success", 1)}
    assert airflow.task_instances(GOOD_DAY) == expected, output(result)


def check_rejected_accounts_fail_the_run_and_its_retry(airflow: Airflow) -> None:
    result = airflow.dags_test(BAD_DAY, extra_env={"AIRFLOW_VAR_COST_JOBS_ACCOUNTS_SUFFIX": "_bad"})
    assert result.returncode != 0, output(result)
    states = airflow.task_instances(BAD_DAY)
    for platform in PLATFORMS:
        assert states[f"enqueue_{platform}"] == ("success", 1), output(result)
    # retries=1: the first failure is retried 2 s later, and the retry sees the same dead letters.
    assert states[SENSOR] == ("failed", 2), output(result)
    log = result.stdout + result.stderr  # `dags test` prints the task logs
    assert len(re.findall(r"job\(s\) of \d+ were dead-lettered", log)) >= 2, output(result)
    for platform in PLATFORMS:
        # "  - meta/act_1004/2026-11-27..2026-11-30: platform.invalid_credentials: <reason>"
        named = re.search(rf"  - {platform}/\S+: [a-z_]+\.[a-z_]+", log)
        assert named, f"the sensor's log names no dead letter of {platform}\n{output(result)}"

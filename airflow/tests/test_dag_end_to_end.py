"""airflow/dags/ad_costs_daily.py end to end: real Airflow against the real pipeline of
`local-pipeline --serve` (moto with the stack, the ad-platform peers, cost-etl under the Lambda
Runtime API emulator draining the jobs queue) and the real `cost-jobs`.

Runs only when COST_JOBS_E2E_ENV names the `KEY=VALUE` file that `local-pipeline --serve` wrote:
AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, COST_JOBS_QUEUE_URL,
COST_JOBS_LEDGER_TABLE, ACCOUNTS_DIR (<platform>_accounts.txt, and <platform>_accounts_bad.txt
with an account the peers reject) and COST_JOBS_BINARY (left out or empty: the `cost-jobs` of the
wheel given to run-tests.sh runs). How Airflow is run and what is checked: airflow_harness.py
(test_dag_in_airflow.py runs the same against a stand-in).
"""

from __future__ import annotations

import os
from pathlib import Path

import airflow_harness
import pytest

E2E_ENV = os.environ.get("COST_JOBS_E2E_ENV")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not E2E_ENV, reason="COST_JOBS_E2E_ENV is not set (the env file of `local-pipeline --serve`)"),
]


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    env_file = Path(E2E_ENV)
    assert env_file.is_file(), f"COST_JOBS_E2E_ENV={E2E_ENV} is not a file"
    return airflow_harness.start_airflow(tmp_path_factory.mktemp("airflow-home"), env_file)


def test_the_run_succeeds_when_every_job_lands(airflow):
    airflow_harness.check_the_run_succeeds_when_every_job_lands(airflow)


def test_rejected_accounts_fail_the_run_naming_each_dead_letter_and_the_retry_fails_too(airflow):
    airflow_harness.check_rejected_accounts_fail_the_run_and_its_retry(airflow)

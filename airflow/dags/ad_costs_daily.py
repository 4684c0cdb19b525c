"""Daily ad costs: every account of Meta, Google Ads and TikTok for yesterday and the three days
before (re-fetched: platforms restate recent days), then one wait for exactly this run's jobs.

Airflow Variables (or AIRFLOW_VAR_<NAME> environment variables), read when the tasks run:
  cost_jobs_queue_url        the jobs queue; unset: COST_JOBS_QUEUE_URL in the workers' environment
  cost_jobs_ledger_table     cost-etl's idempotency table; unset: COST_JOBS_LEDGER_TABLE
  cost_jobs_accounts_dir     folder of <platform>_accounts<suffix>.txt; default /opt/airflow/config
  cost_jobs_accounts_suffix  appended to each file name; default "" (tests use "_bad")
Environment, read when the file is parsed: COST_JOBS_POLL_SECONDS (default 60) and
COST_JOBS_RETRY_DELAY_SECONDS (default 300). AWS: the `aws_default` connection.
"""

import os
from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from cost_jobs_provider.operators.cost_jobs import CostJobsEnqueueOperator
from cost_jobs_provider.sensors.cost_jobs import CostJobsRunSensor

QUEUE_URL = "{{ var.value.get('cost_jobs_queue_url', '') }}"
LEDGER_TABLE = "{{ var.value.get('cost_jobs_ledger_table', '') }}"
ACCOUNTS_DIR = "{{ var.value.get('cost_jobs_accounts_dir', '/opt/airflow/config') }}"
ACCOUNTS_SUFFIX = "{{ var.value.get('cost_jobs_accounts_suffix', '') }}"
POLL = timedelta(seconds=float(os.environ.get("COST_JOBS_POLL_SECONDS", "60")))
RETRY_DELAY = timedelta(seconds=float(os.environ.get("COST_JOBS_RETRY_DELAY_SECONDS", "300")))

with DAG(
    dag_id="ad_costs_daily",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    default_args={"retries": 1, "retry_delay": RETRY_DELAY},
    tags=["cost-etl"],
):
    enqueue = [
        CostJobsEnqueueOperator(
            task_id=f"enqueue_{platform}",
            platform=platform,
            accounts_file=f"{ACCOUNTS_DIR}/{platform}_accounts{ACCOUNTS_SUFFIX}.txt",
            # Airflow 3: `ds` is the day the run was due, so `ds - 1` is yesterday.
            date_from="{{ macros.ds_add(ds, -4) }}",
            date_to="{{ macros.ds_add(ds, -1) }}",
            refresh=True,
            queue_url=QUEUE_URL,
            ledger_table=LEDGER_TABLE,
        )
        for platform in ("meta", "google_ads", "tiktok")
    ]
    # Waits in the triggerer (no worker slot) for the jobs the three tasks above recorded under
    # this DAG run; fails naming each dead-lettered job, and a retry fails the same way.
    wait = CostJobsRunSensor(
        task_id="wait_for_cost_etl",
        ledger_table=LEDGER_TABLE,
        deferrable=True,
        poke_interval=POLL,
        timeout=timedelta(hours=2),
    )
    enqueue >> wait

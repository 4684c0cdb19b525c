"""airflow/dags/ad_costs_daily.py in real Airflow (db, connection, `dags test`, deferral to the
trigger, the sensor's retry) against a stand-in pipeline (stand_in_pipeline.py), so the DAG and
the provider are exercised together on every run, with or without `local-pipeline --serve`."""

from __future__ import annotations

import airflow_harness
import pytest
import stand_in_pipeline


@pytest.fixture(scope="module")
def airflow(tmp_path_factory):
    env_file = stand_in_pipeline.make_pipeline(tmp_path_factory.mktemp("pipeline"))
    return airflow_harness.start_airflow(tmp_path_factory.mktemp("airflow-home"), env_file)


def test_the_run_succeeds_when_every_job_lands(airflow):
    airflow_harness.check_the_run_succeeds_when_every_job_lands(airflow)


def test_rejected_accounts_fail_the_run_naming_each_dead_letter_and_the_retry_fails_too(airflow):
    airflow_harness.check_rejected_accounts_fail_the_run_and_its_retry(airflow)

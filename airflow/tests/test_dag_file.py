"""airflow/dags/ad_costs_daily.py as Airflow's DAG processor sees it: it imports without errors
and has the shape the README promises."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"


@pytest.fixture(scope="module")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return bag.dags["ad_costs_daily"]


def test_three_enqueues_then_one_deferrable_wait(dag):
    assert set(dag.task_dict) == {"enqueue_meta", "enqueue_google_ads", "enqueue_tiktok", "wait_for_cost_etl"}
    wait = dag.task_dict["wait_for_cost_etl"]
    assert wait.upstream_task_ids == {"enqueue_meta", "enqueue_google_ads", "enqueue_tiktok"}
    assert wait.deferrable is True
    assert wait.retries == 1
    assert wait.timeout == timedelta(hours=2).total_seconds()


def test_each_enqueue_refetches_yesterday_and_the_three_days_before(dag):
    for platform in ("meta", "google_ads", "tiktok"):
        task = dag.task_dict[f"enqueue_{platform}"]
        assert task.platform == platform
        assert task.refresh is True
        assert (task.date_from, task.date_to) == ("{{ macros.ds_add(ds, -4) }}", "{{ macros.ds_add(ds, -1) }}")
        assert task.accounts_file.endswith(
            f"/{platform}_accounts{{{{ var.value.get('cost_jobs_accounts_suffix', '') }}}}.txt"
        )
        assert task.run_id is None  # the DAG run's, shared with the sensor


def test_the_settings_the_tests_shorten_come_from_the_environment(monkeypatch):
    import importlib.util

    monkeypatch.setenv("COST_JOBS_POLL_SECONDS", "1")
    monkeypatch.setenv("COST_JOBS_RETRY_DELAY_SECONDS", "2")
    spec = importlib.util.spec_from_file_location("ad_costs_daily_short", DAGS / "ad_costs_daily.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (module.POLL, module.RETRY_DELAY) == (timedelta(seconds=1), timedelta(seconds=2))

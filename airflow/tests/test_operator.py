"""CostJobsEnqueueOperator against a stand-in `cost-jobs`: the command it runs, its XCom value,
and how it fails."""

from __future__ import annotations

import conftest
import pytest
import stand_in
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from cost_jobs_provider.operators.cost_jobs import CostJobsEnqueueOperator

CONTEXT = {"run_id": stand_in.RUN_ID}
ENQUEUED = stand_in.Answer(
    0,
    "sent 6 of 6\n" + stand_in.summary_line(run_id=stand_in.RUN_ID, jobs=6, sent=6),
    "enqueue: 2 accounts x 3 jobs\n",
)


def operator(binary, **overrides) -> CostJobsEnqueueOperator:
    kwargs = dict(
        task_id="enqueue_meta",
        platform="meta",
        accounts_file="/opt/airflow/config/meta_accounts.txt",
        date_from="2026-11-19",
        date_to="2026-11-22",
        refresh=True,
        queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
        ledger_table="pipeline-functions-test-idempotency",
        aws_conn_id=conftest.CONN_ID,
        cost_jobs_binary=str(binary),
    )
    kwargs.update(overrides)
    return CostJobsEnqueueOperator(**kwargs)


def test_it_enqueues_under_the_dag_run_and_returns_the_summary(tmp_path):
    cli = stand_in.make(tmp_path, ENQUEUED)
    assert operator(cli.binary).execute(CONTEXT) == {"run_id": stand_in.RUN_ID, "jobs": 6, "sent": 6}
    [call] = cli.calls()
    assert call["argv"] == [
        "enqueue", "--platform", "meta", "--accounts-file", "/opt/airflow/config/meta_accounts.txt",
        "--from", "2026-11-19", "--to", "2026-11-22", "--days-per-job", "7", "--refresh",
        "--run-id", stand_in.RUN_ID,
        "--queue-url", "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs",
        "--ledger-table", "pipeline-functions-test-idempotency", "--json",
    ]
    assert call["env"]["AWS_ACCESS_KEY_ID"] == conftest.ACCESS_KEY
    assert call["env"]["AWS_ENDPOINT_URL"] == conftest.ENDPOINT


def test_empty_queue_and_table_fall_back_to_the_workers_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COST_JOBS_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/from-env")
    cli = stand_in.make(tmp_path, ENQUEUED)
    # What a DAG's "{{ var.value.get('cost_jobs_queue_url', '') }}" renders to when the Variable is unset.
    operator(cli.binary, queue_url="", ledger_table="").execute(CONTEXT)
    [call] = cli.calls()
    assert "--queue-url" not in call["argv"] and "--ledger-table" not in call["argv"]
    assert call["env"]["COST_JOBS_QUEUE_URL"].endswith("/from-env")


def test_accounts_can_be_listed_instead_of_a_file(tmp_path):
    cli = stand_in.make(tmp_path, ENQUEUED)
    operator(cli.binary, accounts_file=None, accounts=["act_1", "2"], run_id="my-run").execute(CONTEXT)
    argv = cli.calls()[0]["argv"]
    assert argv[argv.index("--run-id") + 1] == "my-run"
    assert ["--account", "act_1", "--account", "2"] == argv[3:7]


def test_exactly_one_source_of_accounts(tmp_path):
    with pytest.raises(ValueError, match="exactly one of accounts= or accounts_file="):
        operator(tmp_path / "cost-jobs", accounts=["1"])
    with pytest.raises(ValueError, match="exactly one"):
        operator(tmp_path / "cost-jobs", accounts_file=None)


def test_dates_and_files_are_templated():
    assert {"date_from", "date_to", "accounts_file", "queue_url", "ledger_table", "run_id"} <= set(
        CostJobsEnqueueOperator.template_fields
    )


def test_a_failed_send_fails_the_task_with_the_clis_stderr(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.Answer(3, "", "2 jobs not sent: ThrottlingException\n"))
    with pytest.raises(AirflowException, match=r"exited 3 \(aws failure\):\n2 jobs not sent: ThrottlingException"):
        operator(cli.binary).execute(CONTEXT)


def test_bad_arguments_fail_without_retries(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.BAD_ARGUMENTS)
    with pytest.raises(AirflowFailException, match="invalid value 'meat'"):
        operator(cli.binary, platform="meat").execute(CONTEXT)

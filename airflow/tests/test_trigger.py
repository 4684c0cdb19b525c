"""CostJobsRunTrigger against a stand-in `cost-jobs`: what it stores, and the one event it fires
for each answer of `wait --once`."""

from __future__ import annotations

import asyncio
import json
import time

import conftest
import pytest
import stand_in

from cost_jobs_provider.triggers.cost_jobs import CostJobsRunTrigger


def trigger(binary, **overrides) -> CostJobsRunTrigger:
    kwargs = dict(
        run_id=stand_in.RUN_ID,
        ledger_table="pipeline-functions-test-idempotency",
        aws_conn_id=conftest.CONN_ID,
        poll_interval=0.05,
        timeout=30,
        cost_jobs_binary=str(binary),
    )
    kwargs.update(overrides)
    return CostJobsRunTrigger(**kwargs)


def events(t: CostJobsRunTrigger) -> list[dict]:
    async def collect():
        return [event.payload async for event in t.run()]

    return asyncio.run(collect())


def test_serialize_round_trips_without_secrets(tmp_path):
    original = trigger(tmp_path / "cost-jobs")
    classpath, kwargs = original.serialize()
    assert classpath == "cost_jobs_provider.triggers.cost_jobs.CostJobsRunTrigger"
    stored = json.dumps(kwargs)
    for secret in (conftest.ACCESS_KEY, conftest.SECRET_KEY, conftest.SESSION_TOKEN):
        assert secret not in stored
    assert kwargs["aws_conn_id"] == conftest.CONN_ID
    # What the triggerer rebuilds from the table is the same trigger, deadline included.
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**json.loads(stored))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.end_time == original.end_time


def test_a_restarted_trigger_keeps_its_deadline(tmp_path):
    _, kwargs = trigger(tmp_path / "cost-jobs", timeout=3600).serialize()
    kwargs["end_time"] = time.time() - 1  # the deadline passed while the triggerer was down
    binary = stand_in.make(tmp_path / "cli", stand_in.PENDING).binary
    kwargs["cost_jobs_binary"] = str(binary)
    [event] = events(CostJobsRunTrigger(**kwargs))
    assert event["status"] == "timeout"


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (stand_in.DONE, "success"),
        (stand_in.DEAD, "dead_lettered"),
        (stand_in.AWS_FAILURE, "error"),
    ],
)
def test_one_event_for_each_final_answer(tmp_path, answer, status):
    cli = stand_in.make(tmp_path, answer)
    [event] = events(trigger(cli.binary))
    assert event["status"] == status
    assert event["run_id"] == stand_in.RUN_ID
    [call] = cli.calls()
    assert call["argv"] == [
        "wait", "--run-id", stand_in.RUN_ID, "--ledger-table", "pipeline-functions-test-idempotency", "--once", "--json",
    ]
    if status == "dead_lettered":
        assert event["dead_lettered"] == [stand_in.DEAD_LETTER]
        assert event["finished"] is True
    if status == "error":
        assert "AccessDeniedException" in event["message"]


def test_it_polls_until_the_run_is_finished(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.PENDING, stand_in.PENDING, stand_in.DONE)
    [event] = events(trigger(cli.binary))
    assert event["status"] == "success"
    assert (event["expected"], event["done"]) == (12, 12)
    assert len(cli.calls()) == 3


def test_it_gives_up_at_its_timeout_with_the_last_progress(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.PENDING)
    started = time.monotonic()
    [event] = events(trigger(cli.binary, timeout=0.3))
    assert event["status"] == "timeout"
    assert (event["expected"], event["done"]) == (12, 5)
    assert time.monotonic() - started < 5
    assert len(cli.calls()) >= 2


def test_credentials_reach_the_cli_through_its_environment_only(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.DONE)
    events(trigger(cli.binary))
    [call] = cli.calls()
    assert call["env"]["AWS_ACCESS_KEY_ID"] == conftest.ACCESS_KEY
    assert call["env"]["AWS_SECRET_ACCESS_KEY"] == conftest.SECRET_KEY
    assert call["env"]["AWS_SESSION_TOKEN"] == conftest.SESSION_TOKEN
    assert call["env"]["AWS_REGION"] == conftest.REGION
    assert call["env"]["AWS_ENDPOINT_URL"] == conftest.ENDPOINT
    assert not any(secret in " ".join(call["argv"]) for secret in (conftest.SECRET_KEY, conftest.SESSION_TOKEN))


def test_a_missing_binary_is_an_error_event_that_says_what_to_install(tmp_path):
    [event] = events(trigger(tmp_path / "no-such-cost-jobs"))
    assert event["status"] == "error"
    assert "pip install cost-jobs" in event["message"]

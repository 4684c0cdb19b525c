"""CostJobsRunSensor against a stand-in `cost-jobs`: poke (reschedule mode), and the deferrable
path's hand-over to the trigger and back."""

from __future__ import annotations

import asyncio
import json

import conftest
import pytest
import stand_in
from airflow.sdk.exceptions import AirflowException, AirflowRescheduleException, AirflowSensorTimeout, TaskDeferred

from cost_jobs_provider.sensors.cost_jobs import CostJobsRunSensor, DeadLetteredJobs
from cost_jobs_provider.triggers.cost_jobs import CostJobsRunTrigger


class FirstTry:
    """The one thing reschedule mode asks of the task instance."""

    def get_first_reschedule_date(self, context):
        return None


CONTEXT = {"run_id": stand_in.RUN_ID, "ti": FirstTry()}


def sensor(binary, **overrides) -> CostJobsRunSensor:
    kwargs = dict(
        task_id="wait_for_cost_etl",
        ledger_table="pipeline-functions-test-idempotency",
        aws_conn_id=conftest.CONN_ID,
        mode="reschedule",
        poke_interval=60,
        cost_jobs_binary=str(binary),
    )
    kwargs.update(overrides)
    return CostJobsRunSensor(**kwargs)


def test_poke_is_true_when_every_job_is_done_and_publishes_the_runs_summary(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.DONE)
    done = sensor(cli.binary).poke(CONTEXT)
    assert done
    assert done.xcom_value == {
        "run_id": stand_in.RUN_ID, "expected": 12, "done": 12, "dead_lettered": [], "finished": True,
    }
    [call] = cli.calls()
    assert call["argv"][:3] == ["wait", "--run-id", stand_in.RUN_ID]  # the DAG run's id by default
    assert call["env"]["AWS_SECRET_ACCESS_KEY"] == conftest.SECRET_KEY


def test_poke_is_false_while_jobs_are_outstanding_and_reschedule_mode_frees_the_slot(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.PENDING)
    assert not sensor(cli.binary).poke(CONTEXT)
    with pytest.raises(AirflowRescheduleException):
        sensor(cli.binary).execute(CONTEXT)


def test_dead_letters_fail_the_task_naming_each_job_code_and_reason(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.DEAD)
    with pytest.raises(DeadLetteredJobs) as failure:
        sensor(cli.binary).poke(CONTEXT)
    assert isinstance(failure.value, AirflowException)  # retried like any failure, and fails again
    message = str(failure.value)
    assert "meta/act_1004/2026-11-19..2026-11-22: platform.invalid_credentials" in message
    assert "the access token was revoked" in message


def test_any_other_exit_fails_with_the_clis_stderr(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.AWS_FAILURE)
    with pytest.raises(AirflowException, match="(?s)exited 3 .*AccessDeniedException"):
        sensor(cli.binary).poke(CONTEXT)


def test_an_explicit_run_id_wins_over_the_dag_runs(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.DONE)
    sensor(cli.binary, run_id="backfill_2026_11").poke(CONTEXT)
    assert cli.calls()[0]["argv"][2] == "backfill_2026_11"


def test_deferrable_defers_at_once_to_a_trigger_without_secrets(tmp_path):
    cli = stand_in.make(tmp_path, stand_in.DONE)
    with pytest.raises(TaskDeferred) as deferred:
        sensor(cli.binary, deferrable=True, poke_interval=15, timeout=600).execute(CONTEXT)
    assert cli.calls() == []  # no look before deferring: the worker slot is given up at once
    trigger = deferred.value.trigger
    assert isinstance(trigger, CostJobsRunTrigger)
    assert deferred.value.method_name == "execute_complete"
    _, kwargs = trigger.serialize()
    assert (kwargs["run_id"], kwargs["poll_interval"], kwargs["timeout"]) == (stand_in.RUN_ID, 15, 600)
    assert conftest.SECRET_KEY not in json.dumps(kwargs)


def _complete_through_the_trigger(tmp_path, answer, **overrides):
    cli = stand_in.make(tmp_path, answer)
    task = sensor(cli.binary, deferrable=True, **overrides)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(CONTEXT)

    async def first_event():
        async for event in deferred.value.trigger.run():
            return event.payload

    return task.execute_complete(CONTEXT, event=asyncio.run(first_event()))


def test_execute_complete_returns_the_summary_on_success(tmp_path):
    assert _complete_through_the_trigger(tmp_path, stand_in.DONE)["done"] == 12


def test_execute_complete_raises_the_same_exception_as_poke_on_dead_letters(tmp_path):
    with pytest.raises(DeadLetteredJobs, match="platform.invalid_credentials: Meta answered 190"):
        _complete_through_the_trigger(tmp_path, stand_in.DEAD)


def test_execute_complete_times_out_like_a_sensor(tmp_path):
    with pytest.raises(AirflowSensorTimeout, match="did not finish in time .*5 of 12 jobs done"):
        _complete_through_the_trigger(tmp_path, stand_in.PENDING, poke_interval=0.05, timeout=0.2)


def test_execute_complete_raises_on_errors(tmp_path):
    with pytest.raises(AirflowException, match="AccessDeniedException"):
        _complete_through_the_trigger(tmp_path, stand_in.AWS_FAILURE)


def test_the_dead_letter_exception_survives_pickling(tmp_path):
    import pickle

    cli = stand_in.make(tmp_path, stand_in.DEAD)
    with pytest.raises(DeadLetteredJobs) as failure:
        sensor(cli.binary).poke(CONTEXT)
    copy = pickle.loads(pickle.dumps(failure.value))
    assert str(copy) == str(failure.value)
    assert copy.outcome.report.dead_lettered[0].reason_code == "platform.invalid_credentials"

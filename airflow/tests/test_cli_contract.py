"""The command line as the provider builds and reads it, and what each `wait --once` answer means."""

from __future__ import annotations

import os
import stat

import pytest
import stand_in

from cost_jobs_provider.cli import (
    BinaryNotFound,
    CommandResult,
    ContractError,
    EnqueueSummary,
    RunReport,
    enqueue_argv,
    find_binary,
    last_json_line,
    wait_once_argv,
)
from cost_jobs_provider.outcome import WaitOutcome, WaitStatus, classify_wait


def result(answer: stand_in.Answer) -> CommandResult:
    return CommandResult(("/opt/bin/cost-jobs", "wait"), answer.exit, answer.stdout, answer.stderr)


def test_enqueue_argv_tags_the_run_and_asks_for_json():
    argv = enqueue_argv(
        "cost-jobs",
        platform="google_ads",
        accounts=["123-456-7890", "1112223333"],
        accounts_file=None,
        date_from="2026-11-19",
        date_to="2026-11-22",
        days_per_job=7,
        refresh=True,
        run_id="scheduled__2026-11-23T06:00:00+00:00",
        queue_url="https://sqs.eu-west-1.amazonaws.com/1/jobs",
        ledger_table="idem",
    )
    assert argv == [
        "cost-jobs", "enqueue", "--platform", "google_ads",
        "--account", "123-456-7890", "--account", "1112223333",
        "--from", "2026-11-19", "--to", "2026-11-22", "--days-per-job", "7", "--refresh",
        "--run-id", "scheduled__2026-11-23T06:00:00+00:00",
        "--queue-url", "https://sqs.eu-west-1.amazonaws.com/1/jobs", "--ledger-table", "idem", "--json",
    ]


def test_enqueue_argv_leaves_queue_and_table_to_the_environment_when_not_given():
    argv = enqueue_argv(
        "cost-jobs", platform="meta", accounts=None, accounts_file="/cfg/meta.txt", date_from="2026-11-01",
        date_to="2026-11-02", days_per_job=3, refresh=False, run_id="r", queue_url=None, ledger_table=None,
    )
    assert "--queue-url" not in argv and "--ledger-table" not in argv and "--refresh" not in argv
    assert argv[argv.index("--accounts-file") + 1] == "/cfg/meta.txt"


def test_wait_argv_is_one_json_look_at_the_run():
    assert wait_once_argv("cost-jobs", run_id="r1", ledger_table="idem") == [
        "cost-jobs", "wait", "--run-id", "r1", "--ledger-table", "idem", "--once", "--json",
    ]
    assert "--ledger-table" not in wait_once_argv("cost-jobs", run_id="r1", ledger_table=None)


def _executable(path):
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_find_binary_prefers_the_argument_then_the_variable_then_path(tmp_path):
    explicit = _executable(tmp_path / "explicit")
    from_env = _executable(tmp_path / "from-env")
    on_path = tmp_path / "bin"
    on_path.mkdir()
    _executable(on_path / "cost-jobs")
    environ = {"COST_JOBS_BINARY": str(from_env), "PATH": str(on_path)}
    assert find_binary(str(explicit), environ) == str(explicit)
    assert find_binary(None, environ) == str(from_env)
    assert find_binary(None, {"PATH": str(on_path)}) == str(on_path / "cost-jobs")


def test_the_wheels_binary_is_found_when_its_bin_folder_is_not_on_path(tmp_path, monkeypatch):
    scripts = tmp_path / "venv-bin"
    scripts.mkdir()
    _executable(scripts / "cost-jobs")
    monkeypatch.setattr("sysconfig.get_path", lambda name: str(scripts))
    assert find_binary(None, {"PATH": str(tmp_path / "elsewhere")}) == str(scripts / "cost-jobs")


def test_a_missing_binary_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setattr("sysconfig.get_path", lambda name: str(tmp_path))
    with pytest.raises(BinaryNotFound, match="pip install cost-jobs"):
        find_binary(None, {"PATH": str(tmp_path)})
    with pytest.raises(BinaryNotFound, match="COST_JOBS_BINARY='/nowhere/cost-jobs' is not an executable"):
        find_binary(None, {"COST_JOBS_BINARY": "/nowhere/cost-jobs", "PATH": os.defpath})


def test_the_summary_is_the_last_stdout_line():
    assert last_json_line('progress\n{"run_id": "r", "jobs": 6, "sent": 6}\n\n') == {"run_id": "r", "jobs": 6, "sent": 6}
    assert last_json_line("") is None
    assert last_json_line("{not json\n") is None
    assert EnqueueSummary.parse({"run_id": "r", "jobs": 6, "sent": 0}) == EnqueueSummary("r", 6, 0)
    with pytest.raises(ContractError, match="'jobs'"):
        EnqueueSummary.parse({"run_id": "r", "jobs": "6", "sent": 0})
    with pytest.raises(ContractError, match="'finished'"):
        RunReport.parse({"run_id": "r", "expected": 1, "done": 1, "dead_lettered": []})


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        (stand_in.DONE, WaitStatus.SUCCESS),
        (stand_in.PENDING, WaitStatus.PENDING),
        (stand_in.DEAD, WaitStatus.DEAD_LETTERED),
        (stand_in.Answer(2, "", "timed out\n"), WaitStatus.TIMEOUT),
        (stand_in.AWS_FAILURE, WaitStatus.ERROR),
        (stand_in.BAD_ARGUMENTS, WaitStatus.ERROR),
        (stand_in.Answer(-9, "", ""), WaitStatus.ERROR),
    ],
)
def test_each_exit_code_of_wait_once(answer, status):
    assert classify_wait(result(answer), stand_in.RUN_ID).status is status


def test_dead_letters_are_named_with_code_and_reason():
    outcome = classify_wait(result(stand_in.DEAD), stand_in.RUN_ID)
    message = outcome.failure_message()
    assert "1 job(s) of 12 were dead-lettered" in message
    assert (
        "  - meta/act_1004/2026-11-19..2026-11-22: platform.invalid_credentials: "
        "Meta answered 190: the access token was revoked"
    ) in message


def test_an_error_keeps_the_clis_stderr_and_exit_code():
    message = classify_wait(result(stand_in.AWS_FAILURE), stand_in.RUN_ID).failure_message()
    assert "`cost-jobs wait` exited 3 (aws failure)" in message
    assert "AccessDeniedException" in message
    killed = classify_wait(result(stand_in.Answer(-9, "", "")), "r").failure_message()
    assert "killed by signal 9" in killed


def test_an_outcome_survives_the_trip_through_a_trigger_event():
    outcome = classify_wait(result(stand_in.DEAD), stand_in.RUN_ID)
    payload = outcome.to_payload()
    assert payload["status"] == "dead_lettered"
    assert payload["dead_lettered"] == [stand_in.DEAD_LETTER]
    assert WaitOutcome.from_payload(payload) == outcome

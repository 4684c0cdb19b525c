"""The `cost-jobs` command line as this provider uses it, as plain data.

Where the executable is, the argument lists of `enqueue` and `wait --once`, what each exit code
means and the JSON summary each command prints as its last stdout line. Nothing here starts a
process or talks to Airflow: the hook runs what this module builds, `outcome` decides from what
it parses.
"""

from __future__ import annotations

import enum
import json
import os
import shutil
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXECUTABLE = "cost-jobs"
BINARY_ENV = "COST_JOBS_BINARY"
PLATFORMS = ("meta", "google_ads", "tiktok")


class ExitCode(enum.IntEnum):
    """`cost-jobs` exit codes (docs/cost-jobs.md, "Exit codes")."""

    DONE = 0
    DEAD_LETTERED = 1
    TIMED_OUT = 2
    AWS_FAILURE = 3
    BAD_ARGUMENTS = 64
    NOT_FINISHED = 75

    @classmethod
    def describe(cls, code: int) -> str:
        try:
            return cls(code).name.lower().replace("_", " ")
        except ValueError:
            if code < 0:
                return f"killed by signal {-code}"
            return "unexpected exit code"


class BinaryNotFound(RuntimeError):
    """The `cost-jobs` executable is nowhere this provider looks."""


class ContractError(ValueError):
    """`cost-jobs` printed something that is not the JSON summary this provider was written against."""


def find_binary(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The `cost-jobs` executable: `explicit` (the operator's `cost_jobs_binary`), else
    $COST_JOBS_BINARY, else PATH, else the scripts folder of this interpreter's environment (where
    `pip install cost-jobs` puts it, also when that folder is not on PATH)."""
    environ = os.environ if environ is None else environ
    for source, candidate in (("cost_jobs_binary", explicit), (BINARY_ENV, environ.get(BINARY_ENV))):
        if candidate:
            found = shutil.which(candidate)
            if found is None:
                raise BinaryNotFound(
                    f"{source}={candidate!r} is not an executable file; point it at the `cost-jobs` "
                    "binary, or unset it and `pip install cost-jobs` into Airflow's environment"
                )
            return found
    found = shutil.which(EXECUTABLE, path=environ.get("PATH"))
    if found is not None:
        return found
    scripts = sysconfig.get_path("scripts")
    if scripts:
        found = shutil.which(EXECUTABLE, path=scripts)
        if found is not None:
            return found
    raise BinaryNotFound(
        f"the `{EXECUTABLE}` executable was not found on PATH nor in {scripts}: `pip install cost-jobs` "
        "(the wheel built from crates/cost-jobs) into the environment of Airflow's workers and "
        f"triggerer, or set {BINARY_ENV} or the task's cost_jobs_binary to its path"
    )


def enqueue_argv(
    binary: str,
    *,
    platform: str,
    accounts: Sequence[str] | None,
    accounts_file: str | None,
    date_from: str,
    date_to: str,
    days_per_job: int,
    refresh: bool,
    run_id: str,
    queue_url: str | None,
    ledger_table: str | None,
) -> list[str]:
    """`cost-jobs enqueue ... --run-id RUN --json`; a queue URL or ledger table left out comes from
    COST_JOBS_QUEUE_URL / COST_JOBS_LEDGER_TABLE in the process's environment."""
    argv = [binary, "enqueue", "--platform", platform]
    if accounts_file:
        argv += ["--accounts-file", accounts_file]
    for account in accounts or ():
        argv += ["--account", str(account)]
    argv += ["--from", date_from, "--to", date_to, "--days-per-job", str(days_per_job)]
    if refresh:
        argv.append("--refresh")
    argv += ["--run-id", run_id]
    if queue_url:
        argv += ["--queue-url", queue_url]
    if ledger_table:
        argv += ["--ledger-table", ledger_table]
    argv.append("--json")
    return argv


def wait_once_argv(binary: str, *, run_id: str, ledger_table: str | None) -> list[str]:
    """`cost-jobs wait --run-id RUN --once --json`: one look at the run's record."""
    argv = [binary, "wait", "--run-id", run_id]
    if ledger_table:
        argv += ["--ledger-table", ledger_table]
    argv += ["--once", "--json"]
    return argv


def last_json_line(stdout: str) -> dict[str, Any] | None:
    """The JSON object on the last non-blank stdout line, or None when there is none."""
    for line in reversed(stdout.splitlines()):
        if line.strip():
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


def _field(summary: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = summary.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ContractError(f"`cost-jobs` summary field {name!r} is {value!r}, expected {getattr(kind, '__name__', kind)}")
    return value


@dataclass(frozen=True)
class EnqueueSummary:
    """`enqueue --json`'s last line: `{"run_id": "...", "jobs": N, "sent": N}`."""

    run_id: str
    jobs: int
    sent: int

    @classmethod
    def parse(cls, summary: Mapping[str, Any]) -> EnqueueSummary:
        return cls(
            run_id=_field(summary, "run_id", str),
            jobs=_field(summary, "jobs", int),
            sent=_field(summary, "sent", int),
        )


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered job of a run, as the worker recorded it."""

    job: str
    reason_code: str
    reason: str

    @classmethod
    def parse(cls, entry: Any) -> DeadLetter:
        if not isinstance(entry, Mapping):
            raise ContractError(f"a dead letter should be an object, got {entry!r}")
        return cls(
            job=str(entry.get("job", "?")),
            reason_code=str(entry.get("reason_code", "?")),
            reason=str(entry.get("reason", "")),
        )

    def describe(self) -> str:
        return f"{self.job}: {self.reason_code}: {self.reason}" if self.reason else f"{self.job}: {self.reason_code}"


@dataclass(frozen=True)
class RunReport:
    """`wait --json`'s last line: where every job of one run stands."""

    run_id: str
    expected: int
    done: int
    dead_lettered: tuple[DeadLetter, ...]
    finished: bool

    @classmethod
    def parse(cls, summary: Mapping[str, Any]) -> RunReport:
        dead = summary.get("dead_lettered", [])
        if not isinstance(dead, list):
            raise ContractError(f"`cost-jobs` summary field 'dead_lettered' is {dead!r}, expected a list")
        return cls(
            run_id=_field(summary, "run_id", str),
            expected=_field(summary, "expected", int),
            done=_field(summary, "done", int),
            dead_lettered=tuple(DeadLetter.parse(entry) for entry in dead),
            finished=_field(summary, "finished", bool),
        )

    def to_json(self) -> dict[str, Any]:
        """The same shape as `cost-jobs` prints it (a trigger event's and XCom's payload)."""
        return {
            "run_id": self.run_id,
            "expected": self.expected,
            "done": self.done,
            "dead_lettered": [
                {"job": d.job, "reason_code": d.reason_code, "reason": d.reason} for d in self.dead_lettered
            ],
            "finished": self.finished,
        }

    def progress(self) -> str:
        dead = f", {len(self.dead_lettered)} dead-lettered" if self.dead_lettered else ""
        return f"run {self.run_id}: {self.done} of {self.expected} jobs done{dead}"


@dataclass(frozen=True)
class CommandResult:
    """What one `cost-jobs` invocation left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def command(self) -> str:
        """The command for a log line: the executable's name, not its path; arguments carry no secrets."""
        return " ".join([Path(self.argv[0]).name, *self.argv[1:]])

    def stderr_tail(self, lines: int = 40) -> str:
        kept = [line for line in self.stderr.splitlines() if line.strip()]
        cut = len(kept) - lines
        tail = "\n".join(kept[-lines:])
        return f"[{cut} earlier lines cut]\n{tail}" if cut > 0 else tail

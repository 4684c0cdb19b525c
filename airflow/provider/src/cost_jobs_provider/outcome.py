"""What one `cost-jobs wait --once` means for the task: done, not yet, dead letters, or an error.

Pure decisions over a `CommandResult`, shared by the sensor (poke mode), the trigger (deferrable)
and the sensor's `execute_complete`, so that every mode fails with the same words. A `WaitOutcome`
travels from the trigger to the task as a JSON-safe event payload.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cost_jobs_provider.cli import CommandResult, ContractError, ExitCode, RunReport, last_json_line


class WaitStatus(str, enum.Enum):
    SUCCESS = "success"
    DEAD_LETTERED = "dead_lettered"
    PENDING = "pending"
    TIMEOUT = "timeout"
    ERROR = "error"


@dataclass(frozen=True)
class WaitOutcome:
    status: WaitStatus
    run_id: str
    report: RunReport | None = None
    message: str = ""

    def to_payload(self) -> dict[str, Any]:
        """A trigger event's payload: the status, the CLI's own summary fields, a message."""
        payload: dict[str, Any] = {"status": self.status.value, "run_id": self.run_id, "message": self.message}
        if self.report is not None:
            payload.update(self.report.to_json())
            payload["run_id"] = self.run_id
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> WaitOutcome:
        status = WaitStatus(payload.get("status", WaitStatus.ERROR.value))
        run_id = str(payload.get("run_id", "?"))
        report = None
        if "expected" in payload:
            try:
                report = RunReport.parse(payload)
            except ContractError:
                report = None
        return cls(status=status, run_id=run_id, report=report, message=str(payload.get("message", "")))

    def failure_message(self) -> str:
        """The exception text for every status but success and pending: what failed and what to do."""
        if self.status is WaitStatus.DEAD_LETTERED:
            dead = self.report.dead_lettered if self.report else ()
            if not dead:
                return f"cost-jobs run {self.run_id}: jobs were dead-lettered:\n{self.message}".rstrip()
            of = f" of {self.report.expected}" if self.report else ""
            lines = [f"cost-jobs run {self.run_id}: {len(dead)} job(s){of} were dead-lettered:"]
            lines += [f"  - {d.describe()}" for d in dead]
            lines.append(
                "A retry of this task sees the same dead letters; fix the cause and redrive them "
                "(docs/cost-jobs.md, \"Airflow provider\")."
            )
            return "\n".join(lines)
        if self.status is WaitStatus.TIMEOUT:
            progress = f" ({self.report.progress()})" if self.report else ""
            return f"cost-jobs run {self.run_id} did not finish in time{progress}. {self.message}".rstrip()
        return f"cost-jobs run {self.run_id}: {self.message}".rstrip()


def classify_wait(result: CommandResult, run_id: str) -> WaitOutcome:
    """Decide from one `wait --run-id RUN --once --json`."""
    code = result.returncode
    report: RunReport | None = None
    summary = last_json_line(result.stdout)
    contract_problem = ""
    if summary is not None:
        try:
            report = RunReport.parse(summary)
        except ContractError as e:
            contract_problem = str(e)
    if code == ExitCode.DONE:
        return WaitOutcome(WaitStatus.SUCCESS, run_id, report, report.progress() if report else "done")
    if code == ExitCode.NOT_FINISHED:
        return WaitOutcome(WaitStatus.PENDING, run_id, report, report.progress() if report else "not finished")
    if code == ExitCode.DEAD_LETTERED:
        return WaitOutcome(WaitStatus.DEAD_LETTERED, run_id, report, result.stderr_tail())
    if code == ExitCode.TIMED_OUT:
        return WaitOutcome(WaitStatus.TIMEOUT, run_id, report, result.stderr_tail())
    detail = result.stderr_tail() or contract_problem or "(no output on stderr)"
    return WaitOutcome(
        WaitStatus.ERROR,
        run_id,
        report,
        f"`{result.command}` exited {code} ({ExitCode.describe(code)}):\n{detail}",
    )

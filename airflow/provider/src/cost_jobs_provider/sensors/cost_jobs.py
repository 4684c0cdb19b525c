"""`CostJobsRunSensor`: waits until every cost-etl job of one run is done, from the run's record
in the worker's idempotency table (`cost-jobs wait --run-id RUN --once`), and fails naming each
dead-lettered job with its reason code and reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from cost_jobs_provider.cli import wait_once_argv
from cost_jobs_provider.compat import AirflowException, AirflowSensorTimeout
from cost_jobs_provider.hooks.cost_jobs import CostJobsHook
from cost_jobs_provider.outcome import WaitOutcome, WaitStatus, classify_wait
from cost_jobs_provider.triggers.cost_jobs import COMMAND_TIMEOUT_SECONDS, CostJobsRunTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class DeadLetteredJobs(AirflowException):
    """Jobs of the run were dead-lettered; the message names each with its reason code and reason."""

    outcome: WaitOutcome | None = None

    @classmethod
    def of(cls, outcome: WaitOutcome) -> DeadLetteredJobs:
        error = cls(outcome.failure_message())  # one string argument: pickles like any exception
        error.outcome = outcome
        return error


def _default_deferrable() -> bool:
    try:
        from airflow.sdk import conf
    except ImportError:  # Airflow 3.0
        from airflow.configuration import conf
    return conf.getboolean("operators", "default_deferrable", fallback=False)


class CostJobsRunSensor(BaseSensorOperator):
    """Wait for the cost-etl jobs of one run (``CostJobsEnqueueOperator``'s run id).

    Succeeds when every job the run's enqueue tasks recorded is done (XCom: the run's summary,
    ``{"run_id", "expected", "done", "dead_lettered": [], "finished": true}``). Fails when the run
    finished with dead letters: the task log and the exception list each job with its
    ``reason_code`` and reason. A retry looks at the same run and fails the same way.

    :param run_id: the run; default the DAG run's ``run_id`` (what the enqueue tasks used).
    :param ledger_table: cost-etl's idempotency table; default ``COST_JOBS_LEDGER_TABLE``.
    :param aws_conn_id: Airflow AWS connection.
    :param region_name: overrides the connection's region.
    :param deferrable: wait in the triggerer (no worker slot) instead of poking; default
        ``[operators] default_deferrable``.
    :param poke_interval: seconds between two looks (also the trigger's poll interval).
    :param timeout: seconds before the sensor gives up (AirflowSensorTimeout, not retried).
    :param mode: ``poke`` or ``reschedule`` when not deferrable.
    :param cost_jobs_binary: the executable; default ``$COST_JOBS_BINARY``, then PATH.
    """

    template_fields: Sequence[str] = ("run_id", "ledger_table")
    ui_color = "#f3e8fb"

    def __init__(
        self,
        *,
        run_id: str | None = None,
        ledger_table: str | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        deferrable: bool | None = None,
        poke_interval: timedelta | float = 60,
        timeout: timedelta | float = timedelta(hours=2),
        cost_jobs_binary: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(poke_interval=poke_interval, timeout=timeout, **kwargs)
        self.run_id = run_id
        self.ledger_table = ledger_table
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.deferrable = _default_deferrable() if deferrable is None else deferrable
        self.cost_jobs_binary = cost_jobs_binary

    def _run_id(self, context: Context) -> str:
        return self.run_id or context["run_id"]

    def _hook(self) -> CostJobsHook:
        return CostJobsHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, cost_jobs_binary=self.cost_jobs_binary
        )

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        run_id = self._run_id(context)
        self._hook().binary  # fail here, in the task log, when the executable is missing
        self.defer(
            trigger=CostJobsRunTrigger(
                run_id=run_id,
                ledger_table=self.ledger_table or None,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                poll_interval=self.poke_interval,
                timeout=self.timeout,
                cost_jobs_binary=self.cost_jobs_binary,
            ),
            method_name="execute_complete",
            # The trigger ends itself at `timeout`; this only catches a trigger that never answers.
            timeout=timedelta(seconds=self.timeout + 2 * self.poke_interval + COMMAND_TIMEOUT_SECONDS),
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        run_id = self._run_id(context)
        hook = self._hook()
        result = hook.run(
            wait_once_argv(hook.binary, run_id=run_id, ledger_table=self.ledger_table or None),
            timeout=COMMAND_TIMEOUT_SECONDS,
        )
        return self._decide(classify_wait(result, run_id))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        outcome = WaitOutcome.from_payload(event or {"status": "error", "message": "the trigger sent no event"})
        decision = self._decide(outcome)
        if not decision:  # a trigger only fires when the run is finished or given up
            raise AirflowException(f"cost-jobs run {outcome.run_id}: the trigger fired before the run finished")
        return decision.xcom_value

    def _decide(self, outcome: WaitOutcome) -> PokeReturnValue:
        if outcome.status is WaitStatus.SUCCESS:
            self.log.info("%s", outcome.message)
            return PokeReturnValue(is_done=True, xcom_value=outcome.report.to_json() if outcome.report else None)
        if outcome.status is WaitStatus.PENDING:
            self.log.info("%s", outcome.message)
            return PokeReturnValue(is_done=False)
        # The task runner logs the exception: its message is the task log's account of the failure.
        if outcome.status is WaitStatus.DEAD_LETTERED:
            raise DeadLetteredJobs.of(outcome)
        if outcome.status is WaitStatus.TIMEOUT:
            raise AirflowSensorTimeout(outcome.failure_message())
        raise AirflowException(outcome.failure_message())

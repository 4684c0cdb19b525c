"""`CostJobsEnqueueOperator`: one platform's accounts and date range onto the cost-etl queue,
tagged with the DAG run, as `cost-jobs enqueue --run-id ... --json`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from cost_jobs_provider.cli import ContractError, EnqueueSummary, ExitCode, enqueue_argv, last_json_line
from cost_jobs_provider.compat import AirflowException, AirflowFailException
from cost_jobs_provider.hooks.cost_jobs import CostJobsHook

if TYPE_CHECKING:
    from airflow.sdk import Context


class CostJobsEnqueueOperator(BaseOperator):
    """Enqueue cost-etl jobs for one platform and record them under the DAG run.

    Retry-safe: a retried (or cleared and re-run) task with the same run id re-sends nothing the
    worker would redo and does not count its jobs twice. Returns (and so pushes to XCom)
    ``{"run_id": ..., "jobs": N, "sent": N}``.

    :param platform: ``meta``, ``google_ads`` or ``tiktok``.
    :param accounts: account ids (exclusive with ``accounts_file``).
    :param accounts_file: file of account ids, one per line, on the worker (templated).
    :param date_from: first day, ``YYYY-MM-DD`` (templated).
    :param date_to: last day, inclusive (templated).
    :param days_per_job: days per job (the last one may be shorter).
    :param refresh: re-fetch days the worker already has (platforms restate recent days).
    :param queue_url: the jobs queue; default ``COST_JOBS_QUEUE_URL`` in the worker's environment.
    :param ledger_table: cost-etl's idempotency table, where the run's expected job count is
        recorded for ``CostJobsRunSensor``; default ``COST_JOBS_LEDGER_TABLE``.
    :param run_id: the run the jobs belong to; default the DAG run's ``run_id``.
    :param aws_conn_id: Airflow AWS connection.
    :param region_name: overrides the connection's region.
    :param cost_jobs_binary: the executable; default ``$COST_JOBS_BINARY``, then PATH.
    """

    template_fields: Sequence[str] = (
        "platform",
        "accounts",
        "accounts_file",
        "date_from",
        "date_to",
        "queue_url",
        "ledger_table",
        "run_id",
    )
    ui_color = "#e8f1fb"

    def __init__(
        self,
        *,
        platform: str,
        accounts: Sequence[str] | None = None,
        accounts_file: str | None = None,
        date_from: str,
        date_to: str,
        days_per_job: int = 7,
        refresh: bool = False,
        queue_url: str | None = None,
        ledger_table: str | None = None,
        run_id: str | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        cost_jobs_binary: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        if (accounts is None) == (accounts_file is None):
            raise ValueError(f"{self.task_id}: give exactly one of accounts= or accounts_file=")
        if isinstance(accounts, str):
            raise TypeError(f"{self.task_id}: accounts= is a list of ids, not a string ({accounts!r})")
        self.platform = platform
        self.accounts = list(accounts) if accounts is not None else None
        self.accounts_file = accounts_file
        self.date_from = date_from
        self.date_to = date_to
        self.days_per_job = days_per_job
        self.refresh = refresh
        self.queue_url = queue_url
        self.ledger_table = ledger_table
        self.run_id = run_id
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.cost_jobs_binary = cost_jobs_binary

    def execute(self, context: Context) -> dict[str, Any]:
        run_id = self.run_id or context["run_id"]
        hook = CostJobsHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, cost_jobs_binary=self.cost_jobs_binary
        )
        argv = enqueue_argv(
            hook.binary,
            platform=self.platform,
            accounts=self.accounts,
            accounts_file=self.accounts_file or None,
            date_from=self.date_from,
            date_to=self.date_to,
            days_per_job=self.days_per_job,
            refresh=self.refresh,
            run_id=run_id,
            queue_url=self.queue_url or None,
            ledger_table=self.ledger_table or None,
        )
        result = hook.run(argv)
        if result.returncode != 0:
            message = (
                f"`cost-jobs enqueue` for {self.platform} exited {result.returncode} "
                f"({ExitCode.describe(result.returncode)}):\n{result.stderr_tail() or '(no output on stderr)'}"
            )
            if result.returncode == ExitCode.BAD_ARGUMENTS:
                # Nothing was sent and a retry would be refused the same way.
                raise AirflowFailException(message)
            raise AirflowException(message)
        summary = last_json_line(result.stdout)
        try:
            enqueued = EnqueueSummary.parse(summary or {})
        except ContractError as e:
            raise AirflowException(f"`cost-jobs enqueue` succeeded but its summary is unreadable: {e}") from e
        self.log.info("run %s: %d %s job(s), %d sent now", enqueued.run_id, enqueued.jobs, self.platform, enqueued.sent)
        return {"run_id": enqueued.run_id, "jobs": enqueued.jobs, "sent": enqueued.sent}

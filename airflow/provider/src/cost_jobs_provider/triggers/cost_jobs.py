"""`CostJobsRunTrigger`: polls `cost-jobs wait --run-id RUN --once --json` in the triggerer until
the run is finished or the deadline passes, then fires one event.

Serialized into the trigger table: the run, the table, the connection's id, the poll interval and
the deadline as an instant (a triggerer restart keeps it). Credentials are not: `run()` resolves
the connection itself, in a thread, as the Amazon provider's async hooks do.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from airflow.triggers.base import BaseTrigger, TriggerEvent

from cost_jobs_provider.cli import wait_once_argv
from cost_jobs_provider.hooks.cost_jobs import CostJobsHook, run_command_async
from cost_jobs_provider.outcome import WaitOutcome, WaitStatus, classify_wait

# One `wait --once` is a single GetItem; a call this long is stuck, not slow.
COMMAND_TIMEOUT_SECONDS = 300.0


class CostJobsRunTrigger(BaseTrigger):
    """Fires ``{"status": "success" | "dead_lettered" | "timeout" | "error", "run_id", "message",
    ...the last `wait --json` summary (expected, done, dead_lettered, finished)}``.

    :param run_id: the run to wait for, as given to ``enqueue --run-id``.
    :param ledger_table: cost-etl's idempotency table; default ``COST_JOBS_LEDGER_TABLE`` in the
        triggerer's environment.
    :param aws_conn_id: Airflow AWS connection, resolved in the triggerer.
    :param region_name: overrides the connection's region.
    :param poll_interval: seconds between two looks.
    :param timeout: seconds from creation to give up with a ``timeout`` event.
    :param end_time: the deadline as epoch seconds (set by ``serialize()``; wins over ``timeout``).
    :param cost_jobs_binary: the executable; default ``$COST_JOBS_BINARY``, then PATH.
    """

    def __init__(
        self,
        *,
        run_id: str,
        ledger_table: str | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        poll_interval: float = 30.0,
        timeout: float = 7200.0,
        end_time: float | None = None,
        cost_jobs_binary: str | None = None,
    ) -> None:
        super().__init__()
        self.run_id = run_id
        self.ledger_table = ledger_table
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.poll_interval = float(poll_interval)
        self.timeout = float(timeout)
        self.end_time = float(end_time) if end_time is not None else time.time() + self.timeout
        self.cost_jobs_binary = cost_jobs_binary

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "run_id": self.run_id,
                "ledger_table": self.ledger_table,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "end_time": self.end_time,
                "cost_jobs_binary": self.cost_jobs_binary,
            },
        )

    def _hook(self) -> CostJobsHook:
        return CostJobsHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, cost_jobs_binary=self.cost_jobs_binary
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            hook = self._hook()
            argv = wait_once_argv(hook.binary, run_id=self.run_id, ledger_table=self.ledger_table)
            # Reading the connection may block (secrets backend, STS): never on the event loop.
            aws = await sync_to_async(hook.aws_environment)()
        except Exception as e:  # a missing binary or connection is this task's error, not the triggerer's
            yield self._event(WaitOutcome(WaitStatus.ERROR, self.run_id, message=str(e)))
            return
        while True:
            env = await sync_to_async(aws.environ)(os.environ)
            result = await run_command_async(argv, env, timeout=COMMAND_TIMEOUT_SECONDS, log=self.log)
            outcome = classify_wait(result, self.run_id)
            if outcome.status is not WaitStatus.PENDING:
                yield self._event(outcome)
                return
            remaining = self.end_time - time.time()
            if remaining <= 0:
                yield self._event(
                    WaitOutcome(
                        WaitStatus.TIMEOUT,
                        self.run_id,
                        outcome.report,
                        f"gave up after {self.timeout:g} s",
                    )
                )
                return
            self.log.info("%s; next look in %g s", outcome.message, min(self.poll_interval, remaining))
            await asyncio.sleep(min(self.poll_interval, remaining))

    def _event(self, outcome: WaitOutcome) -> TriggerEvent:
        self.log.info("run %s: %s", self.run_id, outcome.status.value)
        return TriggerEvent(outcome.to_payload())

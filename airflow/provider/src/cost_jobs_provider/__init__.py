"""Airflow provider for `cost-jobs`, the pipeline's orchestrator CLI: an operator that enqueues a
platform's cost-etl jobs under the DAG run, and a sensor (poke, reschedule or deferrable) that
waits for exactly that run's jobs and fails naming the dead-lettered ones.

Layout: `cli` (the command line's contract as data), `outcome` (what a `wait` means),
`environment` (a connection as AWS_* variables), `hooks` (runs the command), `operators`,
`sensors`, `triggers` (Airflow glue), `get_provider_info` (what `airflow providers list` shows).
"""

__version__ = "0.1.0"

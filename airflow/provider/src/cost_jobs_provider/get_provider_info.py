"""Provider metadata, read by Airflow through the `apache_airflow_provider` entry point.

No connection type of its own: tasks take an Amazon provider connection (type `aws`) by
`aws_conn_id`; registering `aws` here too would compete with the Amazon provider's.
"""

from __future__ import annotations

from typing import Any

from cost_jobs_provider import __version__

INTEGRATION = "cost-jobs"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-cost-jobs",
        "name": "cost-jobs",
        "description": (
            "Enqueue cost-etl jobs under the DAG run and wait for exactly that run's jobs with the "
            "`cost-jobs` CLI (pipeline-functions); AWS credentials from an Amazon connection."
        ),
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "tags": ["aws", "service"],
            }
        ],
        "operators": [
            {"integration-name": INTEGRATION, "python-modules": ["cost_jobs_provider.operators.cost_jobs"]}
        ],
        "sensors": [{"integration-name": INTEGRATION, "python-modules": ["cost_jobs_provider.sensors.cost_jobs"]}],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": ["cost_jobs_provider.triggers.cost_jobs"]}],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": ["cost_jobs_provider.hooks.cost_jobs"]}],
    }

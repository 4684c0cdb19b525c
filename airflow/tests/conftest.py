"""Shared set-up: an AIRFLOW_HOME of the session's own (before anything imports airflow) and an
Airflow AWS connection, `cost_jobs_test`, given as an AIRFLOW_CONN_ variable so no database is
needed; its secret and token are what the tests look for where they must not be."""

from __future__ import annotations

import json
import os
import tempfile

import pytest

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

CONN_ID = "cost_jobs_test"
ACCESS_KEY = "AKIATESTCOSTJOBS"
SECRET_KEY = "test-secret-key-never-logged"
SESSION_TOKEN = "test-session-token-never-logged"
REGION = "eu-west-1"
ENDPOINT = "http://127.0.0.1:5999"

os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = json.dumps(
    {
        "conn_type": "aws",
        "login": ACCESS_KEY,
        "password": SECRET_KEY,
        "extra": {"region_name": REGION, "endpoint_url": ENDPOINT, "aws_session_token": SESSION_TOKEN},
    }
)


@pytest.fixture(autouse=True)
def _no_inherited_cost_jobs_settings(monkeypatch):
    """A developer's own COST_JOBS_* or AWS credentials must not leak into what tests observe."""
    for name in list(os.environ):
        if name == "COST_JOBS_E2E_ENV":
            continue
        if name.startswith("COST_JOBS_") or name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            monkeypatch.delenv(name)

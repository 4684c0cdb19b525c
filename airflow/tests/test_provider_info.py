"""What `airflow providers list` reads: the entry point, its schema, and modules that import."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
from pathlib import Path

import airflow
import jsonschema


def _entry_point():
    [entry] = [
        ep
        for ep in importlib.metadata.entry_points(group="apache_airflow_provider")
        if ep.dist is not None and ep.dist.name == "airflow-provider-cost-jobs"
    ]
    return entry


def test_the_entry_point_gives_valid_provider_info():
    info = _entry_point().load()()
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, schema)
    assert info["package-name"] == "airflow-provider-cost-jobs"  # Airflow refuses a mismatch
    assert info["versions"] == [importlib.metadata.version("airflow-provider-cost-jobs")]


def test_every_listed_module_imports():
    info = _entry_point().load()()
    for kind in ("operators", "sensors", "triggers", "hooks"):
        for entry in info[kind]:
            for module in entry["python-modules"]:
                importlib.import_module(module)


def test_airflow_discovers_the_provider():
    from airflow.providers_manager import ProvidersManager

    providers = ProvidersManager().providers
    assert "airflow-provider-cost-jobs" in providers
    assert "apache-airflow-providers-amazon" in providers

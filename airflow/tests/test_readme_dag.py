"""README.md shows airflow/dags/ad_costs_daily.py: its Airflow section's Python block must be the
file, byte for byte, so the example people copy is the DAG the tests run."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECTION = "## The orchestrator's side (Airflow)\n"
OPEN, CLOSE = "```python\n", "```\n"


def readme_dag_block() -> bytes:
    readme = (REPO / "README.md").read_bytes().decode("utf-8")
    assert SECTION in readme, f"README.md has no {SECTION.strip()!r} section"
    section = readme[readme.index(SECTION) + len(SECTION) :]
    section = section[: section.find("\n## ")] if "\n## " in section else section
    assert OPEN in section, "the README's Airflow section has no ```python block"
    body = section[section.index(OPEN) + len(OPEN) :]
    assert f"\n{CLOSE}" in body, "the README's ```python block is not closed"
    return body[: body.index(f"\n{CLOSE}") + 1].encode("utf-8")


def test_the_readme_shows_the_dag_file_verbatim():
    dag = (REPO / "airflow" / "dags" / "ad_costs_daily.py").read_bytes()
    shown = readme_dag_block()
    assert shown == dag, (
        "README.md's Airflow example and airflow/dags/ad_costs_daily.py differ: copy the file into "
        "the README's ```python block (between the fences, unchanged)"
    )

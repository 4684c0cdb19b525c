"""docs/cost-jobs.md's DAG without the provider ("Airflow without the provider") still imports in
Airflow 3 and runs both commands under the DAG run's id and the ledger table."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "cost-jobs.md"
SECTION = "## Airflow without the provider\n"


def bash_example() -> str:
    text = DOC.read_text()
    assert SECTION in text, f"docs/cost-jobs.md has no {SECTION.strip()!r} section"
    section = text[text.index(SECTION) :]
    body = section[section.index("```python\n") + len("```python\n") :]
    return body[: body.index("\n```\n") + 1]


def test_the_bash_example_imports_and_tags_both_commands_with_the_run(tmp_path):
    from airflow.dag_processing.dagbag import DagBag

    (tmp_path / "ad_costs_daily_bash.py").write_text(bash_example())
    bag = DagBag(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    dag = bag.dags["ad_costs_daily_bash"]
    wait = dag.task_dict["wait_for_cost_etl"]
    assert wait.upstream_task_ids == {"enqueue_meta", "enqueue_google_ads", "enqueue_tiktok"}
    for task in dag.tasks:
        command = task.bash_command
        assert "--run-id '{{ run_id }}'" in command and "--ledger-table pipeline-functions-prod-idempotency" in command
    assert dag.task_dict["enqueue_meta"].bash_command.startswith("cost-jobs enqueue --queue-url https://sqs.")
    assert "--from {{ macros.ds_add(ds, -4) }} --to {{ macros.ds_add(ds, -1) }}" in dag.task_dict["enqueue_tiktok"].bash_command

"""Hooks: running `cost-jobs` with an Airflow AWS connection."""

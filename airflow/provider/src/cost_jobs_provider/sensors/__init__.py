"""Sensors: `CostJobsRunSensor`."""

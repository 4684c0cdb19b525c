"""Operators: `CostJobsEnqueueOperator`."""

"""Triggers: `CostJobsRunTrigger`, the deferrable sensor's wait."""

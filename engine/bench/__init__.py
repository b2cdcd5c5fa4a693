"""`groklab bench`: fixed workloads timed against baselines measured in the same run."""

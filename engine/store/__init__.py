"""What a run leaves on disk: the run directory's files and the checkpoint."""

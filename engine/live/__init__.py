"""A run in its own thread: commands in, immutable snapshots out.

The UI talks to this layer only, through RunControl (commands) and Snapshot (pictures).
"""

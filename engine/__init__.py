"""groklab's training engine: data, models, compiled kernels and the live session.

Nothing in this package imports textual or rich, so scripts and tests can train
without a terminal UI (tests/engine/test_isolation.py proves it).
"""

__version__ = "0.1.0"

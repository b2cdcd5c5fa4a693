"""The `groklab` command line: parsing, the headless run and the benchmark's output.

Kept light to import: nothing here imports Textual or numba at module level.
"""

from tui.cli.main import main

__all__ = ["main"]

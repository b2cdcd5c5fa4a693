"""The `groklab` command line: parsing, the headless run and the benchmark's output.

Kept light to import: nothing here imports Textual or numba at module level. `entry` is
the entry point of the `groklab` script and of `python -m tui`: it answers SIGINT and
SIGTERM before it imports the parser (tui.cli.main: argparse and the engine's config take
tens of milliseconds, far longer on a loaded machine), so a signal at start-up is one
line and its exit status, never a KeyboardInterrupt traceback.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.cli.interrupts import quit_early  # the standard library only


def entry(argv: Sequence[str] | None = None) -> int:
    """Run the `groklab` command line (tui.cli.main.main) with the signals answered from
    the first import on; returns the exit status."""
    with quit_early():
        from tui.cli.main import main

        return main(argv)


__all__ = ["entry"]

"""Starting groklab (or a Python snippet that imports it) in a child process, safely.

`python -m tui` or `python -c CODE` puts the current directory first on the import
path, so a `tui/` or `engine/` folder there would run instead of groklab. The commands
built here run with -P (no such entry) and put this installation's own root first: the
child imports exactly the code its parent runs, whatever the working directory holds.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The folder holding the engine and tui packages (a checkout, or site-packages).
ROOT = Path(__file__).resolve().parents[1]


def python_command(code: str, *args: str) -> list[str]:
    """argv that runs `code` with `args` as sys.argv[1:], importing from ROOT only."""
    boot = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
    return [sys.executable, "-P", "-c", boot + code, *args]


def groklab_command(*args: str) -> list[str]:
    """argv of `groklab ARGS...` run by this installation's code."""
    return python_command("from tui.cli.main import main; raise SystemExit(main())", *args)

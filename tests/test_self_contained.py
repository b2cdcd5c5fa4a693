"""The project explains itself: no file points the reader to a document it does not ship."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [
    path
    for folder in ("engine", "tui", "presets", "tests")
    for path in (ROOT / folder).rglob("*")
    if path.suffix in {".py", ".toml", ".tcss"} and path.name != Path(__file__).name
] + [ROOT / "README.md", ROOT / "pyproject.toml"]

# A file name such as DESIGN.md or docs/notes.md mentioned in the text.
MENTIONED_DOC = re.compile(r"\b[\w./-]+\.md\b")


def test_every_document_mentioned_is_in_the_repository():
    missing = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name in MENTIONED_DOC.findall(line):
                if not (ROOT / name).exists():
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {name}")
    assert not missing, "points outside the repository:\n" + "\n".join(missing)

"""What every file the store writes shares: atomic replacement and strict JSON values."""

from __future__ import annotations

import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write data to path so that a reader sees the old file or the new, never half of one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp makes 0600; these are ordinary outputs
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


MAX_STEM = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_stem(name: str, max_len: int = MAX_STEM) -> str:
    """`name` (a preset's, say: anything a user wrote) as one harmless file-name part.

    Only ASCII letters, digits, '.', '-' and '_' are kept, every other run of characters
    (path separators, spaces, control and markup characters) becomes one '_'; runs of
    dots shrink to one and leading dots and dashes go, so the result is never '..', a
    hidden file or an option; at most `max_len` characters, and never empty.
    """
    stem = re.sub(r"\.{2,}", ".", _UNSAFE.sub("_", name)).lstrip(".-")[:max_len]
    return stem.rstrip(".") or "run"


def json_safe(value):
    """`value` with every non-finite float as None, so it serialises to strict JSON.

    Recurses through mappings, lists and tuples; numpy float scalars are floats too.
    """
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value

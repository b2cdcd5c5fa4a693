"""What every file the store writes shares: atomic replacement, strict JSON values, and
one error for a file that could not be written."""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path


class RunDirError(Exception):
    """A run directory's file could not be read or written (a full disk, a vanished or
    read-only folder): one line naming the file and the reason. The run stops on it and
    the command line exits with status 2, without a traceback."""

    def __init__(self, path: Path | str, error: OSError, doing: str = "write") -> None:
        self.path = Path(path)
        self.error = error
        super().__init__(f"{self.path}: could not {doing} it: {error.strerror or error}")


def _create_temporary(path: Path) -> tuple[int, Path]:
    """A new, unique file beside path, opened for writing.

    Created with mode 0o666 so the kernel applies the umask, as for any ordinary output
    (mkstemp's 0600 would hide results from a group that shares the folder).
    """
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write data to path so that a reader sees the old file or the new, never half of one."""
    path = Path(path)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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

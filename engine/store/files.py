"""What every file the store writes shares: atomic replacement, strict JSON values, and
one error for a file that could not be written."""

from __future__ import annotations

import math
import os
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

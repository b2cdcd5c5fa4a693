"""Where a sweep runs, checked before anything starts: `--workers N` or `--scheduler ADDRESS`."""

from __future__ import annotations

import re

from engine.errors import ConfigError
from engine.numerics.parallel import cores

MAX_WORKERS = 256
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://[^\s/]+:\d+$|^[^\s/:]+:\d+$")


def check_workers(workers: int | None) -> int:
    """`--workers N`: N, or the cores this process may use."""
    if workers is None:
        return cores()
    if isinstance(workers, bool) or not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(
            "--workers", "--workers", f"a whole number in [1, {MAX_WORKERS}]", workers
        )
    return workers


def check_address(address: str) -> str:
    """`--scheduler`: tcp://HOST:PORT (or HOST:PORT, which Dask reads as tcp)."""
    if not _ADDRESS.match(address):
        raise ConfigError("--scheduler", "--scheduler", "tcp://HOST:PORT", address)
    return address

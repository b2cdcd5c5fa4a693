"""`groklab bench --dashboard`'s measurements that need no engine."""

from __future__ import annotations

import asyncio
import math
import os
import tempfile
import time

import pytest

from tui.cli import bench_dashboard


def test_the_timer_floor_is_the_p99_interval_of_an_empty_apps_poll_timer(monkeypatch):
    monkeypatch.setattr(bench_dashboard, "MEASURE_S", 0.6)
    p99 = asyncio.run(bench_dashboard._timer_floor_p99())
    interval_ms = 1000.0 / bench_dashboard.POLL_HZ
    # a late tick lengthens its interval; none comes much early (Textual keeps a schedule)
    assert math.isfinite(p99) and p99 >= interval_ms - 2.0


def _processes_with(variable: str) -> list[int]:
    """Processes whose environment holds `variable` (NAME=value), as /proc shows them."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                environ = open(f"/proc/{entry}/environ", "rb").read().split(b"\0")
            except OSError:  # gone, or not ours
                continue
            if variable.encode() in environ:
                found.append(int(entry))
    return found


@pytest.mark.slow  # a cold start: its serial kernel compiles into an empty cache
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_cold_start_measurement_leaves_no_compiling_child_behind(monkeypatch):
    """The child a cold start leaves compiling would slow what the benchmark measures next."""
    caches: list[str] = []
    real = tempfile.TemporaryDirectory

    def recorded():
        cache = real()
        caches.append(cache.name)
        return cache

    monkeypatch.setattr(bench_dashboard.tempfile, "TemporaryDirectory", recorded)
    times = bench_dashboard.startup_times(warm=False)
    assert 0 < times["first_frame_s"] < times["training_starts_s"]
    left = f"NUMBA_CACHE_DIR={caches[0]}"
    deadline = time.monotonic() + 1.0  # a killed one leaves /proc at once; a live one lasts
    while _processes_with(left) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(left) == []

"""`groklab bench --dashboard`'s measurements that need no engine."""

from __future__ import annotations

import asyncio
import math

from tui.cli import bench_dashboard


def test_the_timer_floor_is_the_p99_interval_of_an_empty_apps_poll_timer(monkeypatch):
    monkeypatch.setattr(bench_dashboard, "MEASURE_S", 0.6)
    p99 = asyncio.run(bench_dashboard._timer_floor_p99())
    interval_ms = 1000.0 / bench_dashboard.POLL_HZ
    # a late tick lengthens its interval; none comes much early (Textual keeps a schedule)
    assert math.isfinite(p99) and p99 >= interval_ms - 2.0

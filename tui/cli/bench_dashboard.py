"""`groklab bench --dashboard`: what the dashboard costs the engine, and how fast it starts.

Throughput: W1 and W2 run once headless (the runner alone) and once inside the dashboard
(Textual's headless App.run_test, chart visible at 120x40, polling at 20 Hz); the result is
the engine's steps/s inside the dashboard relative to headless, and the p99 interval
between the dashboard's polls (its UI timer). Beside them, the same p99 of an empty
Textual app's 20 Hz timer, in the same run: the floor the machine's event loop sets (a
timer that fires late by any amount makes an interval longer than 50 ms).

Data view: spiral and grokking-mod97 inside the dashboard at 120x40 at full speed, the
data view shown and hidden in alternating windows of the same run; the result is the
engine's steps/s with the view shown relative to the hidden windows around it.

Start-up: `groklab run grokking-mod97` in a fresh process, timed from launch to the first
frame and to the first training step, with an empty Numba cache and with a warm one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time

import numpy as np

from engine.bench.workloads import workload_config
from engine.config import load_config, with_overrides
from engine.launch import python_command
from engine.live.runner import Runner
from engine.vocabulary import RunState

MEASURE_S = 4.0  # seconds of steady training measured per mode
WARM_S = 1.0  # seconds skipped after the run starts (chunk sizing settles)
POLL_HZ = 20.0
DATA_VIEW_PRESETS = ("spiral", "grokking-mod97")
DATA_VIEW_WINDOW_S = 1.5  # one shown or hidden window
DATA_VIEW_PAIRS = 6  # shown windows, each between two hidden ones


def _bench_config(name: str):
    return with_overrides(
        workload_config(name, "float32"),
        ["train.steps=100000000", "train.eval_every=100", "train.stop_on_converged=false"],
    )


def _steady_rate(runner: Runner) -> float:
    while runner.snapshot().state != RunState.RUNNING:
        time.sleep(0.01)
    time.sleep(WARM_S)
    s0, t0 = runner.snapshot().step, time.perf_counter()
    time.sleep(MEASURE_S)
    return (runner.snapshot().step - s0) / (time.perf_counter() - t0)


def headless_rate(name: str) -> float:
    runner = Runner(_bench_config(name))
    runner.start()
    try:
        return _steady_rate(runner)
    finally:
        runner.stop()


async def _dashboard_rate(name: str) -> tuple[float, float]:
    from tui.app import GroklabApp
    from tui.screens.dashboard import DashboardScreen

    cfg = _bench_config(name)
    app = GroklabApp(lambda c: Runner(c), preset=cfg, poll_interval=1.0 / POLL_HZ)
    async with app.run_test(size=(120, 40)) as pilot:
        while app.runner is None or app.runner.snapshot().state != RunState.RUNNING:
            await pilot.pause(0.01)
        await asyncio.sleep(WARM_S)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        s0, t0 = app.runner.snapshot().step, time.perf_counter()
        first_poll = time.monotonic()
        await asyncio.sleep(MEASURE_S)
        rate = (app.runner.snapshot().step - s0) / (time.perf_counter() - t0)
        starts = np.array([t for t in screen.poll_starts if t >= first_poll])
        await pilot.press("q")
    intervals = np.diff(starts) * 1000.0
    p99 = float(np.percentile(intervals, 99)) if intervals.size else float("nan")
    return rate, p99


async def _data_view_cost(preset: str) -> tuple[float, float, float]:
    """Steps/s with the data view shown over steps/s with it hidden: the median over the
    shown windows of each one's rate against the mean of the hidden windows either side
    (alternating windows cancel the drift of a long run and of the machine's load), and the
    median steps/s shown and hidden."""
    from tui.app import GroklabApp
    from tui.screens.dashboard import DashboardScreen

    cfg = with_overrides(
        load_config(preset),
        ["train.steps=100000000", "train.stop_on_converged=false", "train.pace=0"],
    )
    app = GroklabApp(lambda c: Runner(c), preset=cfg, poll_interval=1.0 / POLL_HZ)
    rates: list[float] = []
    views_seen: set[int] = set()
    async with app.run_test(size=(120, 40)) as pilot:
        while app.runner is None or app.runner.snapshot().state != RunState.RUNNING:
            await pilot.pause(0.01)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        await asyncio.sleep(WARM_S)
        for window in range(2 * DATA_VIEW_PAIRS + 1):
            screen.data_wanted = window % 2 == 1
            await asyncio.sleep(0.2)  # the view's first grid is asked for and drawn
            s0, t0 = app.runner.snapshot().step, time.perf_counter()
            await asyncio.sleep(DATA_VIEW_WINDOW_S)
            snap = app.runner.snapshot()
            rates.append((snap.step - s0) / (time.perf_counter() - t0))
            if snap.data_view is not None and window % 2 == 1:
                views_seen.add(snap.data_view.step)
        await pilot.press("q")
    if len(views_seen) < DATA_VIEW_PAIRS:  # the view must have followed the run
        raise RuntimeError(f"{preset}: the data view was computed at {len(views_seen)} steps")
    paired = [rates[i] / ((rates[i - 1] + rates[i + 1]) / 2) for i in range(1, len(rates) - 1, 2)]
    shown, hidden = rates[1::2], rates[0::2]
    return float(np.median(paired)), float(np.median(shown)), float(np.median(hidden))


async def _timer_floor_p99() -> float:
    """p99 interval (ms) of a 20 Hz interval timer in an empty Textual app, nothing else
    running: the lateness every timer of this machine's event loop has."""
    from textual.app import App

    class Empty(App):
        def on_mount(self) -> None:
            self.stamps: list[float] = []
            self.set_interval(1.0 / POLL_HZ, lambda: self.stamps.append(time.monotonic()))

    app = Empty()
    async with app.run_test(size=(120, 40)):
        await asyncio.sleep(MEASURE_S)
    intervals = np.diff(app.stamps) * 1000.0
    return float(np.percentile(intervals, 99)) if intervals.size else float("nan")


def _kill_session(leader: int) -> None:
    """End every process left in the session `leader` started (none where there are no
    sessions, as on Windows)."""
    if not hasattr(os, "killpg"):
        return
    with contextlib.suppress(ProcessLookupError):  # nothing left
        os.killpg(leader, signal.SIGKILL)


def startup_times(warm: bool) -> dict:
    """Seconds from process launch to the first frame and to the first training step."""
    env = dict(os.environ)
    cache = None
    if not warm:
        cache = tempfile.TemporaryDirectory()
        env["NUMBA_CACHE_DIR"] = cache.name
    # The same steps as `groklab run grokking-mod97` (tui/cli/main.py), in Textual's headless
    # driver because a benchmark has no terminal. A thread watches for the first step, so
    # the measurement adds no polling to the event loop.
    script = (
        "import time, json, asyncio, threading\n"
        "from engine.config import load_config\n"
        "cfg = load_config('grokking-mod97')\n"
        "from tui.app import GroklabApp, build_runner\n"
        "first = build_runner(cfg)\n"
        "app = GroklabApp(lambda chosen: first, preset=cfg)\n"
        "stamps = {}\n"
        "def watch():\n"
        "    while first.snapshot().step == 0:\n"
        "        time.sleep(0.002)\n"
        "    stamps['training'] = time.time()\n"
        "async def main():\n"
        "    async with app.run_test(size=(80, 24)) as pilot:\n"
        "        stamps['frame'] = time.time()\n"
        "        watcher = threading.Thread(target=watch)\n"
        "        watcher.start()\n"
        "        while watcher.is_alive():\n"
        "            await asyncio.sleep(0.05)\n"
        "        print(json.dumps(stamps))\n"
        "        await pilot.press('q')\n"
        "asyncio.run(main())\n"
    )
    launched = time.time()
    # In a session of its own, so that the child it leaves compiling on an empty cache
    # (engine/live/background_compile.py) ends with it instead of slowing what is measured
    # next (a following benchmark's first workload ran at half speed beside it).
    process = subprocess.Popen(
        python_command(script), env=env, stdout=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    stdout, _ = process.communicate()
    _kill_session(process.pid)
    if cache is not None:
        cache.cleanup()
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, "startup measurement")
    stamps = json.loads(stdout.strip().splitlines()[-1])
    return {
        "first_frame_s": stamps["frame"] - launched,
        "training_starts_s": stamps["training"] - launched,
    }


def measure_dashboard() -> list[dict]:
    rows = []
    for name in ("W1", "W2"):
        headless = headless_rate(name)
        inside, p99 = asyncio.run(_dashboard_rate(name))
        rows.append(
            {
                "workload": name,
                "impl": "dashboard",
                "steps_per_s": inside,
                "headless_steps_per_s": headless,
                "ratio_vs_headless": inside / headless,
                "ui_p99_ms": p99,
                "ratio_vs_numpy": None,
                "gflops": None,
                "peak_gflops": None,
                "note": f"{inside / headless:.0%} of headless, UI p99 {p99:.0f} ms",
            }
        )
    floor = asyncio.run(_timer_floor_p99())
    rows.append(
        {
            "workload": "UI timer",
            "impl": "empty app",
            "steps_per_s": None,
            "ui_p99_ms": floor,
            "ratio_vs_numpy": None,
            "gflops": None,
            "peak_gflops": None,
            "note": f"an empty Textual app's {POLL_HZ:.0f} Hz timer: p99 {floor:.0f} ms",
        }
    )
    for preset in DATA_VIEW_PRESETS:
        ratio, shown, hidden = asyncio.run(_data_view_cost(preset))
        rows.append(
            {
                "workload": preset,
                "impl": "data view",
                "steps_per_s": shown,
                "hidden_steps_per_s": hidden,
                "ratio_vs_hidden": ratio,
                "ratio_vs_numpy": None,
                "gflops": None,
                "peak_gflops": None,
                "note": f"view shown: {ratio:.0%} of hidden ({hidden:,.0f} steps/s hidden)",
            }
        )
    # Warm first: an empty cache's run leaves a child compiling the parallel kernel for a
    # while (engine/live/background_compile.py), which would slow whatever is measured next.
    for warm in (True, False):
        times = startup_times(warm)
        label = "warm cache" if warm else "empty cache"
        rows.append(
            {
                "workload": "start-up",
                "impl": label,
                "steps_per_s": None,
                "ratio_vs_numpy": None,
                "gflops": None,
                "peak_gflops": None,
                **times,
                "note": f"first frame {times['first_frame_s']:.2f} s, training "
                f"{times['training_starts_s']:.2f} s",
            }
        )
    return rows

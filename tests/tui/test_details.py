"""Details found in use (issue 12): quitting while compiling, export names, the picker's
keys, single steps, reset in every state, the verdict at step 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # Pilot scenarios and subprocesses: a second or more each

ROOT = Path(__file__).resolve().parents[2]

QUIT_WHILE_COMPILING = """
import asyncio, json, sys, time
from textual import events
from engine.config import load_config
from tui.app import GroklabApp, build_runner
cfg = load_config('spiral')
app = GroklabApp(build_runner, preset=cfg)
async def main():
    async with app.run_test(size=(80, 24)) as pilot:
        while app.runner is None or app.runner.snapshot().state != 'compiling':
            await asyncio.sleep(0.01)
        await asyncio.sleep(1.0)  # well into the compile
        assert app.runner.snapshot().state == 'compiling'
        print(json.dumps({'q': time.time()}), flush=True)
        # Posted, not Pilot.press: that waits for an idle process, which a compile is not.
        app.post_message(events.Key('q', 'q'))
        while app.is_running:
            await asyncio.sleep(0.005)
asyncio.run(main())
from tui.cli.main import exit_at_once  # what `groklab run` does once the app has quit
exit_at_once(0)
"""


def test_quitting_during_a_cold_compile_takes_under_a_second(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cold-cache")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [sys.executable, "-c", QUIT_WHILE_COMPILING],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "no output"
    pressed = json.loads(line)["q"]
    proc.wait(timeout=60)
    took = time.time() - pressed
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    assert took < 1.0, f"quit took {took:.2f} s"


# -- the picker ----------------------------------------------------------------------

from fakes import Factory, LabApp, drive, press, wait_for  # noqa: E402
from textual import events  # noqa: E402

from tui.screens.help import HelpScreen  # noqa: E402
from tui.screens.picker import PickerScreen  # noqa: E402


def _burst(app, text: str) -> None:
    """Every key of `text` queued at once, as a fast typist or a paste delivers them."""
    for char in text:
        key = "enter" if char == "\n" else char
        app.post_message(events.Key(key, char if char != "\n" else "\r"))


@pytest.mark.parametrize("name", ["spiral", "noisy-labels", "lr-too-low"])
def test_a_burst_of_keys_starts_the_preset_typed(name):
    factory = Factory()
    app = LabApp(factory)  # the bundled presets: "spiral" is in other descriptions too

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        _burst(app, name + "\n")
        await wait_for(pilot, lambda: factory.runners, what="a run started")
        assert [r.config.name for r in factory.runners] == [name]

    drive(app, scenario)


def test_q_and_question_mark_work_in_the_picker_unless_typed_into_the_filter(presets):
    app = LabApp(Factory(), presets=presets)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        await press(pilot, "question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await press(pilot, "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="back")
        await press(pilot, "s", "q", "question_mark")
        from textual.widgets import Input

        assert app.screen.query_one(Input).value == "sq?"  # text in a filter
        assert app.is_running
        await press(pilot, "ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="ctrl+q quits")

    drive(app, scenario)


def test_q_quits_from_the_empty_picker(presets):
    app = LabApp(Factory(), presets=presets)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        await press(pilot, "q")
        await wait_for(pilot, lambda: not app.is_running, what="q quits")

    drive(app, scenario)


# -- the engine side: single steps and reset in every state ---------------------------

from engine.live.runner import Runner  # noqa: E402
from engine.vocabulary import RunState  # noqa: E402
from tests.configs import linear  # noqa: E402


def _until(condition, timeout: float = 300.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.005)


def test_a_single_step_publishes_its_loss_and_gradient_norm(tmp_path):
    runner = Runner(linear(tmp_path, steps=1000), start_paused=True)  # eval_every 10
    runner.start()
    try:
        _until(lambda: runner.snapshot().state == RunState.PAUSED)
        seen = []
        for n in (1, 2):
            runner.step(1)
            _until(lambda n=n: runner.snapshot().step == n)
            snap = runner.snapshot()
            assert snap.metric("step_grad_norm") == runner.session.history.last("step_grad_norm")
            assert snap.get_series("step_grad_norm").steps[-1] == n  # the grad norm row's
            seen.append((snap.metric("step_loss"), snap.metric("step_grad_norm")))
        assert seen[0] != seen[1] and None not in seen[0]
    finally:
        runner.stop()


def test_r_resets_to_step_0_in_every_state_and_keeps_running_or_waits_paused(tmp_path):
    cases = {
        "running": (linear(tmp_path, steps=10_000_000), False, RunState.RUNNING),
        "paused": (linear(tmp_path, steps=10_000_000), True, RunState.PAUSED),
        "done": (linear(tmp_path, steps=50), False, RunState.DONE),
        "diverged": (linear(tmp_path, lr=50.0, steps=10_000), False, RunState.DIVERGED),
    }
    for name, (cfg, paused, state) in cases.items():
        runner = Runner(cfg, start_paused=paused)
        runner.start()
        try:
            _until(lambda r=runner, s=state: r.snapshot().state == s, 60)
            if paused:
                runner.step(5)
                _until(lambda r=runner: r.snapshot().step == 5, 60)
            else:
                _until(lambda r=runner: r.snapshot().step > 0, 60)
            runner.reset()
            after = RunState.RUNNING if state == RunState.RUNNING else RunState.PAUSED
            _until(lambda r=runner: any(e.kind == "reset" for e in r.snapshot().events), 5)
            snap = runner.snapshot()
            assert snap.state == after, name
            if after == RunState.PAUSED:
                assert snap.step == 0, name
        finally:
            runner.stop()

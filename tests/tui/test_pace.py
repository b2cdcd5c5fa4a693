"""The pace keys: < and > halve and double the steps per second, f toggles full speed."""

from __future__ import annotations

import time

import pytest
from fakes import Factory, LabApp, drive, make_config, polls, press, wait_for

from engine.config import load_config
from engine.vocabulary import RunState
from tui.app import build_runner
from tui.screens.dashboard import DashboardScreen
from tui.widgets import RunHeader

pytestmark = pytest.mark.slow  # Pilot scenarios: a second or more each


def header_text(app) -> str:
    return app.screen.query_one(RunHeader).visual.plain


def paced_config(pace: float):
    return make_config(train={"steps": 5000, "eval_every": 10, "pace": pace})


def test_pace_keys_send_the_pace_and_the_header_shows_it():
    factory = Factory()
    app = LabApp(factory, paced_config(40))

    async def scenario(pilot):
        await wait_for(pilot, lambda: "pace 40/s" in header_text(app), what="the pace shown")
        assert "40 steps/s" in header_text(app)
        runner = factory.runner
        await press(pilot, "greater_than_sign", "greater_than_sign")
        assert runner.called("set_pace") == [(80.0,), (160.0,)]  # the second builds on the first
        await wait_for(pilot, lambda: "pace 160/s" in header_text(app), what="pace 160")
        await press(pilot, "less_than_sign")
        await press(pilot, "f")
        await wait_for(pilot, lambda: "full speed" in header_text(app), what="full speed")
        await press(pilot, "greater_than_sign")  # no faster than full speed
        assert runner.called("set_pace")[-2:] == [(80.0,), (0.0,)]
        assert any("full speed" in note.message for note in app.notes)
        await press(pilot, "f")  # back to the pace it left
        await press(pilot, "less_than_sign")
        assert runner.called("set_pace")[-2:] == [(80.0,), (40.0,)]

    drive(app, scenario)


def test_halving_full_speed_halves_the_speed_it_runs_at():
    factory = Factory()
    app = LabApp(factory, paced_config(0))

    async def scenario(pilot):
        await wait_for(pilot, lambda: "full speed" in header_text(app), what="full speed")
        await wait_for(pilot, lambda: "1,234 steps/s" in header_text(app), what="the speed")
        await press(pilot, "less_than_sign")
        assert factory.runner.called("set_pace") == [(617.0,)]

    drive(app, scenario)


def test_the_header_shows_no_speed_while_paused():
    factory = Factory(prefill=40, start_paused=True)
    app = LabApp(factory, paced_config(40))

    async def scenario(pilot):
        await wait_for(pilot, lambda: "paused" in header_text(app), what="paused")
        await polls(pilot)
        assert "steps/s" not in header_text(app)
        assert "pace 40/s" in header_text(app)
        await press(pilot, "space")
        await wait_for(pilot, lambda: "steps/s" in header_text(app), what="a speed once running")

    drive(app, scenario)


async def _measured_rate(pilot, runner, seconds: float = 2.0) -> float:
    await pilot.pause(0.3)  # the new pace takes effect between chunks
    first, start = runner.snapshot().step, time.perf_counter()
    await pilot.pause(seconds)
    return (runner.snapshot().step - first) / (time.perf_counter() - start)


def test_the_pace_keys_change_the_real_engines_steps_per_second():
    cfg = load_config("spiral")  # pace 30 steps/s: 2,000 steps last a minute
    app = LabApp(build_runner, preset=cfg)

    async def scenario(pilot):
        await wait_for(
            pilot,
            lambda: app.runner is not None and app.runner.snapshot().step > 0,
            timeout=300,
            what="training",
        )
        runner = app.runner
        assert runner is not None and isinstance(app.screen, DashboardScreen)
        assert await _measured_rate(pilot, runner) == pytest.approx(30, rel=0.2)
        await press(pilot, "greater_than_sign", "greater_than_sign")
        assert await _measured_rate(pilot, runner) == pytest.approx(120, rel=0.2)
        await press(pilot, "less_than_sign", "less_than_sign", "less_than_sign")
        assert await _measured_rate(pilot, runner) == pytest.approx(15, rel=0.2)
        assert "pace 15/s" in header_text(app)
        await press(pilot, "f")
        await wait_for(
            pilot, lambda: runner.snapshot().state == RunState.DONE, timeout=30, what="full speed"
        )
        await pilot.press("q")

    drive(app, scenario)

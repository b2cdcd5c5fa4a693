"""The dashboard over the real engine (no fake): the run the README promises, end to end."""

from __future__ import annotations

import pytest
from fakes import LabApp, drive, polls, screen_text, wait_for

from engine.config import load_config
from engine.vocabulary import RunState
from tui.app import build_runner
from tui.widgets import RunHeader, StatusPanel

# The real engine: a minute to compile the kernels on a cold cache, seconds when warm.
# Its behaviour under the UI's calls is checked in the fast suite by test_contract.py.
pytestmark = pytest.mark.slow


def header_text(app) -> str:
    return app.screen.query_one(RunHeader).render().plain


def test_linear_regression_runs_to_converged_and_quits_cleanly():
    app = LabApp(build_runner, preset=load_config("linear-regression"))

    async def scenario(pilot):
        await pilot.press("f")  # full speed: the preset's pace would take ~20 s
        await wait_for(
            pilot,
            lambda: app.runner and app.runner.snapshot().state == RunState.DONE,
            timeout=60,
            what="the run to finish",
        )
        runner = app.runner
        assert runner is not None
        snap = runner.snapshot()
        assert snap.status == "converged" and snap.step == 8261  # where the seed loop stops
        await wait_for(pilot, lambda: "done" in header_text(app), what="done in the header")
        # The real run's status (the monitor's evidence, the test set and the guarantee)
        # is the longest any preset has: at 120x40 it fits without scrolling.
        await polls(pilot, 3)
        status = app.screen.query_one(StatusPanel)
        assert "observed contraction" in screen_text(app)
        assert status.max_scroll_y == 0
        await pilot.press("q")
        assert not runner.is_alive

    drive(app, scenario, size=(120, 40))


def test_space_pauses_the_real_engine():
    cfg = load_config("grokking-mod97")
    app = LabApp(build_runner, preset=cfg)

    async def scenario(pilot):
        await wait_for(
            pilot,
            lambda: app.runner and app.runner.snapshot().step > 0,
            timeout=60,
            what="training",
        )
        runner = app.runner
        assert runner is not None
        await pilot.press("space")
        await wait_for(pilot, lambda: runner.snapshot().state == RunState.PAUSED, timeout=2)
        frozen = runner.snapshot().step
        await polls(pilot, 10)  # the engine's thread goes on; the run does not
        assert runner.snapshot().step == frozen
        await pilot.press("n")
        await wait_for(pilot, lambda: runner.snapshot().step == frozen + 1, timeout=2)
        await pilot.press("q")

    drive(app, scenario, size=(80, 24))

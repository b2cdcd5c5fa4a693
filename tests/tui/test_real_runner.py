"""The dashboard over the real engine (no fake): the run the README promises, end to end."""

from __future__ import annotations

from fakes import drive, wait_for

from engine.config import load_config
from tui.app import GroklabApp, build_runner
from tui.widgets import RunHeader


def header_text(app) -> str:
    return app.screen.query_one(RunHeader).render().plain


def test_linear_regression_runs_to_converged_and_quits_cleanly():
    app = GroklabApp(build_runner, preset=load_config("linear-regression"))

    async def scenario(pilot):
        await wait_for(
            pilot,
            lambda: app.runner.snapshot().state == "done",
            timeout=60,
            what="the run to finish",
        )
        snap = app.runner.snapshot()
        assert snap.status == "converged" and snap.step == 8360
        await wait_for(pilot, lambda: "done" in header_text(app), what="done in the header")
        runner = app.runner
        await pilot.press("q")
        assert not runner.is_alive

    drive(app, scenario)


def test_space_pauses_the_real_engine():
    cfg = load_config("grokking-mod97")
    app = GroklabApp(build_runner, preset=cfg)

    async def scenario(pilot):
        await wait_for(
            pilot, lambda: app.runner.snapshot().step > 0, timeout=60, what="training to start"
        )
        await pilot.press("space")
        await wait_for(pilot, lambda: app.runner.snapshot().state == "paused", timeout=2)
        frozen = app.runner.snapshot().step
        await pilot.pause(0.3)
        assert app.runner.snapshot().step == frozen
        await pilot.press("n")
        await wait_for(pilot, lambda: app.runner.snapshot().step == frozen + 1, timeout=2)
        await pilot.press("q")

    drive(app, scenario, size=(80, 24))

"""Snapshot images (pytest-textual-snapshot) of the main screens.

Each app is fed a fixed history by a FakeRunner that does not advance (no thread, no
clock), so the picture depends on nothing but the code. Update the images with
`pytest tests/tui/test_snapshots.py --snapshot-update` after checking the change.
"""

from __future__ import annotations

import pytest
from fakes import (
    Factory,
    LabApp,
    classifier_config,
    make_config,
    polls,
    press,
    screen_text,
    wait_for,
)
from textual.widgets import Input

from engine.vocabulary import RunState
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import HelpScreen
from tui.widgets import MainChart


def dashboard_app(cfg, **options) -> LabApp:
    factory = Factory(auto_advance=False, **options)
    return LabApp(factory, cfg, presets=[cfg])


async def until_drawn(pilot) -> None:
    app = pilot.app
    await wait_for(
        pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.snapshot is not None
    )
    await polls(pilot, 2)  # the chart is drawn by the poll after the snapshot


class TestPicker:
    def test_picker(self, snap_compare, presets):
        app = LabApp(Factory(), presets=presets)

        async def run_before(pilot):
            pilot.app.screen.query_one(Input).cursor_blink = False
            await pilot.pause()

        assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


@pytest.mark.slow  # 1.4-4.5 s each
class TestDashboard:
    def test_running_regression(self, snap_compare):
        app = dashboard_app(make_config(), prefill=500, state_after_prefill=RunState.RUNNING)
        assert snap_compare(app, terminal_size=(120, 40), run_before=until_drawn)

    def test_running_classifier_80x24(self, snap_compare):
        app = dashboard_app(classifier_config(), prefill=800, state_after_prefill=RunState.RUNNING)
        assert snap_compare(app, terminal_size=(80, 24), run_before=until_drawn)

    @pytest.mark.slow  # the two ends of the range the layout is tested over
    @pytest.mark.parametrize("size", [(40, 12), (300, 80)], ids=["40x12", "300x80"])
    def test_classifier_at_the_smallest_and_largest_sizes(self, snap_compare, size):
        app = dashboard_app(classifier_config(), prefill=800, state_after_prefill=RunState.RUNNING)
        assert snap_compare(app, terminal_size=size, run_before=until_drawn)

    def test_diverged(self, snap_compare):
        app = dashboard_app(make_config(), prefill=400, diverge_at=260)
        assert snap_compare(app, terminal_size=(120, 40), run_before=until_drawn)

    def test_help(self, snap_compare):
        app = dashboard_app(make_config(), prefill=100, start_paused=True)

        async def run_before(pilot):
            await until_drawn(pilot)
            await press(pilot, "question_mark")
            await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), what="help")

        assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def chart_scene(view: str, size: tuple[int, int], *, log_x: bool = False, presses: int = 0):
    """run_before for a chart picture: a first run of 600 steps, lr halved and reset (the
    first run stays as the ghost), 200 steps, lr doubled back (an edit marker), 200 more,
    milestones where the task has them, then `view` (or `v` pressed `presses` times) and
    the cursor moved 6 columns left of the last step."""

    async def run_before(pilot):
        await until_drawn(pilot)
        screen = pilot.app.screen
        chart = screen.query_one(MainChart)
        if not chart.display:  # 80x24: hidden until asked for
            await press(pilot, "c")
        await polls(pilot, 2)
        runner = pilot.app.runner
        runner.set("lr", runner.config.optim.lr / 2)
        runner.reset()
        runner.advance(200)
        runner.set("lr", runner.config.optim.lr)
        runner.advance(200)
        if runner.classification:
            runner.mark("memorized_step", 60)
            runner.mark("grokked_step", 330)
        await polls(pilot, 3)
        if presses:
            await press(pilot, *["v"] * presses)
        else:
            chart.view = view
        if log_x:
            await press(pilot, "x")
        chart.focus()
        await press(pilot, *["left"] * 7)
        await polls(pilot, 2)
        assert chart.ghost is not None and chart.cursor is not None

    return run_before


REGRESSION_VIEWS = ["loss", "mad", "grad_norm", "lr", "guarantee"]


@pytest.mark.slow  # about a second each
class TestChartViews:
    @pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
    @pytest.mark.parametrize("view", REGRESSION_VIEWS)
    def test_regression_view(self, snap_compare, view, size):
        app = dashboard_app(make_config(), prefill=600, state_after_prefill=RunState.RUNNING)
        assert snap_compare(app, terminal_size=size, run_before=chart_scene(view, size))

    @pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
    def test_accuracy_view_with_milestones(self, snap_compare, size):
        # v from the loss view: the classifier's second view is accuracy
        app = dashboard_app(classifier_config(), prefill=600, state_after_prefill=RunState.RUNNING)
        assert snap_compare(app, terminal_size=size, run_before=chart_scene("", size, presses=1))

    def test_guarantee_view_on_a_log_x_axis(self, snap_compare):
        app = dashboard_app(make_config(), prefill=600, state_after_prefill=RunState.RUNNING)
        scene = chart_scene("guarantee", (120, 40), log_x=True)
        assert snap_compare(app, terminal_size=(120, 40), run_before=scene)

    def test_no_color_train_and_val_differ_in_glyphs(self, snap_compare, monkeypatch):
        monkeypatch.setenv("NO_COLOR", "1")
        app = dashboard_app(make_config(), prefill=600, state_after_prefill=RunState.RUNNING)
        assert app.no_color

        async def run_before(pilot):
            await chart_scene("loss", (120, 40))(pilot)
            lines = screen_text(pilot.app)
            assert "━ train" in lines and "╍ val" in lines and "┈ previous" in lines

        assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)

"""Snapshot images (pytest-textual-snapshot) of the main screens.

Each app is fed a fixed history by a FakeRunner that does not advance (no thread, no
clock), so the picture depends on nothing but the code. Update the images with
`pytest tests/tui/test_snapshots.py --snapshot-update` after checking the change.
"""

from __future__ import annotations

from fakes import Factory, LabApp, classifier_config, make_config, polls, press, wait_for
from textual.widgets import Input

from engine.vocabulary import RunState
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import HelpScreen


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


class TestDashboard:
    def test_running_regression(self, snap_compare):
        app = dashboard_app(make_config(), prefill=500, state_after_prefill=RunState.RUNNING)
        assert snap_compare(app, terminal_size=(120, 40), run_before=until_drawn)

    def test_running_classifier_80x24(self, snap_compare):
        app = dashboard_app(classifier_config(), prefill=800, state_after_prefill=RunState.RUNNING)
        assert snap_compare(app, terminal_size=(80, 24), run_before=until_drawn)

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

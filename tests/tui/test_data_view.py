"""The data view on the dashboard: d shows it (and asks the runner for it), d again hides it
(and tells the runner to stop); snapshot images of each task kind's picture.

The pictures come from a fixed model: the config's initial parameters through the NumPy
reference (FakeRunner's default), so they depend on nothing but the code and the seed.
"""

from __future__ import annotations

import pytest
from fakes import Factory, LabApp, classifier_config, drive, make_config, polls, press, wait_for

from engine.training.dataview import CURVE, PLANE, clamp_resolution
from engine.vocabulary import RunState
from tui.screens.dashboard import DashboardScreen
from tui.widgets import DataViewPanel, MainChart

CONFIGS = {
    "plane": lambda: make_config(
        "toy-moons",
        title="Noisy moons",
        data={"kind": "moons", "n": 300, "label_noise": 0.2},
        model={"kind": "mlp", "hidden": [16]},
        loss={"kind": "cross_entropy"},
        optim={"kind": "adam", "lr": 0.01},
    ),
    "curve": lambda: make_config(
        "toy-poly",
        title="Polynomial",
        data={"kind": "polynomial", "n": 40, "coeffs": [0.0, 2.0, 0.0, -4.0], "noise": 0.3},
        model={"kind": "polynomial", "degree": 6},
        optim={"kind": "adam", "lr": 0.03},
    ),
    "table": classifier_config,
    "scatter": lambda: make_config(data={"kind": "linear", "n_features": 3}),
}


def app_for(kind: str) -> LabApp:
    cfg = CONFIGS[kind]()
    factory = Factory(auto_advance=False, prefill=300, state_after_prefill=RunState.RUNNING)
    return LabApp(factory, cfg, presets=[cfg])


async def show_data(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.snapshot)
    await press(pilot, "d")
    panel = app.screen.query_one(DataViewPanel)
    await wait_for(pilot, lambda: panel.view is not None, what="a data view")
    view = panel.view
    assert view is not None
    if view.kind in (PLANE, CURVE):  # the grid that fills the panel (the others: their rows)
        # Asked for once the scene is known and the layout has settled (on a slow machine
        # the panel may still be a row high for a poll or two).
        await wait_for(
            pilot,
            lambda: (
                panel.view is not None
                and panel.view.resolution == clamp_resolution(panel.resolution)
            ),
            what="the view at the panel's size",
        )


@pytest.mark.slow  # an app driven for a second or two
def test_d_asks_for_the_view_and_d_again_stops_it():
    app = app_for("plane")

    async def scenario(pilot):
        await show_data(pilot)
        screen = pilot.app.screen
        runner = pilot.app.runner
        asked = runner.called("show_data_view")
        assert asked and asked[-1][0] is not None
        assert not screen.query_one(MainChart).display  # 120 columns: the view replaces it
        await press(pilot, "d")
        await polls(pilot, 2)
        assert runner.called("show_data_view")[-1] == (None,)
        assert runner.snapshot().data_view is None
        assert not screen.query_one(DataViewPanel).display

    drive(app, scenario, size=(120, 40))


@pytest.mark.slow
def test_wide_terminals_show_the_view_beside_the_chart():
    app = app_for("curve")

    async def scenario(pilot):
        await show_data(pilot)
        screen = pilot.app.screen
        assert screen.query_one(MainChart).display and screen.query_one(DataViewPanel).display

    drive(app, scenario, size=(160, 40))


@pytest.mark.slow  # about a second each
class TestDataViewPictures:
    @pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
    @pytest.mark.parametrize("kind", list(CONFIGS))
    def test_view(self, snap_compare, kind, size):
        assert snap_compare(app_for(kind), terminal_size=size, run_before=show_data)

    @pytest.mark.parametrize("kind", ["plane", "table"])
    def test_no_color_uses_glyphs(self, snap_compare, kind, monkeypatch):
        monkeypatch.setenv("NO_COLOR", "1")
        app = app_for(kind)
        assert app.no_color
        assert snap_compare(app, terminal_size=(80, 24), run_before=show_data)


@pytest.mark.slow
def test_the_benchs_data_view_row_measures_a_view_that_follows_the_run(monkeypatch):
    import asyncio

    from tui.cli import bench_dashboard

    monkeypatch.setattr(bench_dashboard, "DATA_VIEW_WINDOW_S", 0.4)
    monkeypatch.setattr(bench_dashboard, "DATA_VIEW_PAIRS", 2)
    # Raises unless the real runner recomputed the view in every shown window.
    ratio, shown, hidden = asyncio.run(bench_dashboard._data_view_cost("spiral"))
    assert shown > 0 and hidden > 0 and 0.2 < ratio < 5.0

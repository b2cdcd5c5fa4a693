"""The data view on the dashboard: d shows it (and asks the runner for it), d again hides it
(and tells the runner to stop); snapshot images of each task kind's picture.

The pictures come from a fixed model: the config's initial parameters through the NumPy
reference (FakeRunner's default), so they depend on nothing but the code and the seed.
"""

from __future__ import annotations

import numpy as np
import pytest
from fakes import Factory, LabApp, classifier_config, drive, make_config, polls, press, wait_for

from engine.training.dataview import (
    CURVE,
    PLANE,
    SCATTER,
    TABLE,
    DataView,
    Scene,
    clamp_resolution,
)
from engine.vocabulary import RunState
from tui.plot.dataview import render_view
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


def table_view(p: int) -> DataView:
    """A made-up p x p table: alternate pairs train and val, the val ones half right."""
    split = np.where(np.add.outer(np.arange(p), np.arange(p)) % 2 == 0, 1, 2).astype(np.int8)
    correct = np.arange(p * p).reshape(p, p) % 4 < 2
    return DataView(Scene(TABLE, p=p, table_split=split), 10, (1, 1), correct=correct)


@pytest.mark.parametrize("color", [True, False], ids=["color", "no-color"])
def test_the_tables_legend_keeps_its_block_size_at_80_columns(color):
    picture = render_view(table_view(97), 42, 19, color=color)  # the panel at 80x24
    legend = picture.rows[-1]
    text = "".join(t for t, _ in legend).rstrip()
    assert ("3×3 pairs/px" if color else "6×3/cell") in text
    parts = [t for t, _ in legend if t.strip()]
    assert text.endswith(parts[-1].rstrip())  # no part cut at the edge


def test_a_legend_part_that_does_not_fit_is_left_out_whole():
    xy = np.array([[0.0, 0.0], [1.0, 1.0]])
    scene = Scene(PLANE, x_range=(-1.0, 2.0), y_range=(-1.0, 2.0), classes=2,
                  train_xy=xy, val_xy=xy, train_labels=np.array([0, 1]),
                  val_labels=np.array([1, 0]), train_flipped=np.array([True, False]))  # fmt: skip
    view = DataView(scene, 1, (8, 8), predicted=np.zeros((8, 8), np.uint8),
                    confidence=np.ones((8, 8), np.float32))  # fmt: skip
    wide = "".join(t for t, _ in render_view(view, 60, 12).rows[-1])
    narrow = "".join(t for t, _ in render_view(view, 42, 12).rows[-1])
    assert "pale: unsure" in wide
    assert "pale" not in narrow and "× flipped" in narrow


def test_the_scatter_names_its_x_axis():
    ys = np.linspace(0.0, 10.0, 40)
    scene = Scene(SCATTER, x_name="actual y", train_y=ys, val_y=ys[::2])
    view = DataView(scene, 1, (1, 1), train_pred=ys + 0.1, val_pred=ys[::2] - 0.1)
    for width, height in ((42, 19), (78, 35)):
        assert "actual y" in render_view(view, width, height).text

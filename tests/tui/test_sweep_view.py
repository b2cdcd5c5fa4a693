"""The sweep's phase diagram: the heatmap's picture, and the view driven from a made-up
progress source (no Dask): it fills in as rows arrive, the cursor and its detail, the
colour cycle, a cell's curves, NO_COLOR, small terminals and quitting."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from fakes import drive, press, screen_strips, screen_text, wait_for

from engine.config import config_to_toml
from engine.sweep.curves import run_snapshot
from engine.sweep.diagram import (
    FAILED,
    NO_PHASE,
    QUEUED,
    RUNNING,
    Diagram,
    Point,
    build_diagram,
)  # fmt: skip
from engine.sweep.plan import SweepPlan, plan_from_args
from engine.sweep.progress import SweepProgress
from engine.training.session import CSV_COLUMNS
from engine.vocabulary import Phase
from tui.cli.main import main
from tui.plot import heatmap as H
from tui.screens.sweep import COLOR_BY, RunCurvesScreen, SweepScreen
from tui.sweep_app import SweepApp
from tui.widgets import MainChart
from tui.widgets.palette import SWEEP_RGB, VALUE_SCALE_RGB
from tui.widgets.phase_map import PhaseMap, key_color

PHASES = [str(p) for p in Phase]
# One varied key, a value per category the diagram can show.
CATEGORIES = [*PHASES, FAILED, NO_PHASE, RUNNING, QUEUED]
WD = "optim.weight_decay"
LR = "optim.lr"


def one_row_plan(n: int = len(CATEGORIES)) -> SweepPlan:
    values = ",".join(str(i / 10) for i in range(n))
    return plan_from_args("grokking-mod97", [f"{WD}={values}"], 1)


def grid_plan(seeds: int = 1) -> SweepPlan:
    return plan_from_args("grokking-mod97", [f"{WD}=0,1,2", f"{LR}=0.01,0.03"], seeds)


def cell_at(plan: SweepPlan, **values):
    """The first cell (lowest seed) at these values of the varied keys (wd=, lr=)."""
    keys = {"wd": WD, "lr": LR}
    return next(c for c in plan.cells
                if all(dict(c.point)[keys[k]] == v for k, v in values.items()))  # fmt: skip


def row(cell, phase: str | None, **fields) -> dict[str, str]:
    """A sweep.csv row of `cell` as the file holds it (every field a string)."""
    out = {"cell": cell.name, "seed": str(cell.seed), "status": "converged", "phase": phase or ""}
    out.update({k: str(v) for k, v in dict(cell.point).items()})
    out.update({k: str(v) for k, v in fields.items()})
    return out


def category_rows(plan: SweepPlan) -> tuple[list[dict[str, str]], list[str]]:
    """Rows making each cell of one_row_plan show one category, and the running cells."""
    rows, running = [], []
    for cell, category in zip(plan.cells, CATEGORIES):
        if category in PHASES:
            rows.append(row(cell, category))
        elif category == FAILED:
            rows.append(row(cell, None, status="error"))
        elif category == NO_PHASE:
            rows.append(row(cell, None))
        elif category == RUNNING:
            running.append(cell.name)
    return rows, running


def point_at(diagram: Diagram, x: int, y: int) -> Point:
    found = diagram.at(x, y)
    assert found is not None, (x, y)
    return found


class FakeSweep:
    """A progress source the test feeds: rows and running cells as it sets them."""

    def __init__(self, plan: SweepPlan) -> None:
        self.plan = plan
        self.rows: list[dict[str, str]] = []
        self.running: list[str] = []
        self.state = "running"
        self.stopped = False
        self.polled = 0

    def progress(self) -> SweepProgress:
        self.polled += 1
        done = len(self.rows)
        return SweepProgress(
            state=self.state, total=len(self.plan.cells), done=done, running=len(self.running),
            queued=len(self.plan.cells) - done - len(self.running), failed=0,
            workers=("127.0.0.1:1", "127.0.0.1:2"), elapsed_s=30.0,
            cells_per_min=2.0 if done else None, eta_s=60.0 if done else None,
            rows=tuple(self.rows), running_cells=tuple(self.running),
        )  # fmt: skip

    def stop(self) -> None:
        self.stopped = True


def app_for(plan: SweepPlan, source, folder: Path) -> SweepApp:
    return SweepApp(plan, source, folder, poll_s=0.02)


def cell_colors(picture: H.Picture, at: tuple[int, int]) -> set:
    """The pixel keys drawn in one diagram cell (colour mode), the cursor's frame aside
    (a cell starting at a lower half row shares its first row with the frame above)."""
    col, r, w, h = picture.cells[at]
    keys = set()
    for line in picture.rows[r : r + h]:
        c = 0
        for text, key in line:
            for _ in text:
                if col <= c < col + w and isinstance(key, tuple) and key[0] == "px":
                    keys.update(k for k in key[1:] if k not in (None, H.CURSOR))
                c += 1
    return keys


def cell_glyphs(picture: H.Picture, at: tuple[int, int]) -> set[str]:
    col, r, w, h = picture.cells[at]
    text = ["".join(t for t, _ in line) for line in picture.rows[r : r + h]]
    return {ch for line in text for ch in line[col : col + w]}


# ---------------------------------------------------------------- the picture
def test_each_category_has_its_own_colour_and_glyph():
    plan = one_row_plan()
    rows, running = category_rows(plan)
    diagram = build_diagram(plan, rows, running)
    assert [point_at(diagram, i, 0).category for i in range(len(CATEGORIES))] == CATEGORIES
    far = (len(CATEGORIES) - 1, 0)  # the cursor away from the cells read below
    color = H.render_heatmap(diagram, 120, 10, cursor=far)
    glyph = H.render_heatmap(diagram, 120, 10, cursor=far, color=False)
    glyphs = []
    for i, category in enumerate(CATEGORIES[:-1]):
        assert cell_colors(color, (i, 0)) == {category}
        (found,) = cell_glyphs(glyph, (i, 0))
        assert found == H.PHASE_GLYPHS[category]
        glyphs.append(found)
    assert len(set(glyphs)) == len(glyphs)  # without colour, every category differs
    colours = {key_color(c) for c in CATEGORIES}
    assert len(colours) == len(CATEGORIES) and None not in colours
    assert key_color(Phase.GROKKING).triplet == SWEEP_RGB[Phase.GROKKING]  # type: ignore[union-attr]


def test_a_column_colours_on_a_sequential_scale_and_says_its_range():
    plan = one_row_plan(4)
    cells = plan.cells
    rows = [row(cells[0], "grokking", final_val_acc=0.2), row(cells[1], "grokking",
            final_val_acc=0.9), row(cells[2], "confusion", final_val_acc="nan")]  # fmt: skip
    diagram = build_diagram(plan, rows, ())
    assert diagram.value_range("final_val_acc") == (0.2, 0.9)
    picture = H.render_heatmap(diagram, 80, 8, column="final_val_acc", cursor=(3, 0))
    assert cell_colors(picture, (0, 0)) == {("level", 0)}
    assert cell_colors(picture, (1, 0)) == {("level", len(H.LEVELS) - 1)}
    assert cell_colors(picture, (2, 0)) == {H.MISSING}  # nan is no value
    legend = "".join(t for t, _ in H.legend_runs(diagram, "final_val_acc"))
    assert "final val acc" in legend and "0.2" in legend and "0.9" in legend
    assert "no value" in legend and "queued" in legend and "running" not in legend
    assert key_color(("level", 0)).triplet == VALUE_SCALE_RGB[0]  # type: ignore[union-attr]
    glyphs = H.render_heatmap(diagram, 80, 8, column="final_val_acc", cursor=(3, 0), color=False)
    assert cell_glyphs(glyphs, (0, 0)) == {H.LEVELS[0]}
    assert cell_glyphs(glyphs, (1, 0)) == {H.LEVELS[-1]}


def test_seeds_and_further_keys_pool_by_majority():
    plan = plan_from_args(
        "grokking-mod97", [f"{WD}=0,1", f"{LR}=0.01", "optim.batch_size=64,128"], 2
    )
    at_origin = [c for c in plan.cells if dict(c.point)[WD] == 0]
    assert len(at_origin) == 4  # two batch sizes x two seeds
    phases = ["grokking", "grokking", "memorization", None]
    rows = [row(c, p, final_val_acc=v) for c, p, v in zip(at_origin, phases, (1, 0.5, 0.1, 3))]
    diagram = build_diagram(plan, rows, ())
    point = point_at(diagram, 0, 0)
    assert diagram.pooled == (("optim.batch_size", ("64", "128")),)
    assert (point.category, point.phase.agree, point.phase.seeds) == ("grokking", 2, 4)
    assert point.value("final_val_acc") == 0.75  # the median
    assert point_at(diagram, 1, 0).category == QUEUED


@pytest.mark.parametrize("size", [(0, 0), (1, 1), (3, 2), (7, 3), (80, 24)])
@pytest.mark.parametrize("color", [True, False])
def test_any_size_draws_without_error_and_keeps_the_cursor_in_view(size, color):
    plan = plan_from_args("grokking-mod97", [f"{WD}=0:10:40", f"{LR}=0.001:0.1:30:log"], 1)
    diagram = build_diagram(plan, (), ())
    picture = H.render_heatmap(diagram, *size, cursor=(39, 29), color=color)
    assert len(picture.rows) == size[1]
    assert all(sum(len(t) for t, _ in r) == size[0] for r in picture.rows)
    if size[0] * size[1] >= 6:
        assert (39, 29) in picture.cells  # the window follows the cursor
    empty = build_diagram(one_row_plan(1), (), ())
    assert len(H.render_heatmap(empty, *size, color=color).rows) == size[1]


def test_a_point_value_ignores_nan_inf_and_text():
    plan = one_row_plan(1)
    (cell,) = plan.cells
    rows = [row(cell, "grokking", final_val_acc=v) for v in ("nan", "inf", "", "x")]
    point = point_at(build_diagram(plan, rows, ()), 0, 0)
    assert point.value("final_val_acc") is None
    assert H.cell_key(point, "final_val_acc", None) == H.MISSING


# ---------------------------------------------------------------- the view
def write_run(folder: Path, cell, steps: int = 50) -> None:
    """The files a finished cell leaves: config.toml, metrics.csv and summary.json."""
    run = folder / "cells" / cell.name
    run.mkdir(parents=True)
    (run / "config.toml").write_text(config_to_toml(cell.config))
    lines = [",".join(CSV_COLUMNS)]
    for step in range(0, steps + 1, 10):
        values = {"step": step, "train_loss": math.exp(-step / 20), "val_loss": 2.0,
                  "train_acc": step / steps, "val_acc": step / steps / 2}  # fmt: skip
        lines.append(",".join(str(values.get(c, "")) for c in CSV_COLUMNS))
    (run / "metrics.csv").write_text("\n".join(lines) + "\n")
    summary = {"status": "grokked", "steps": steps, "memorized_step": 20, "grokked_step": 40,
               "final": {"val_acc": 0.5}, "phase": "grokking"}  # fmt: skip
    (run / "summary.json").write_text(json.dumps(summary))


def test_the_view_fills_in_as_rows_arrive_and_the_cursor_reads_them(tmp_path):
    plan = grid_plan()
    source = FakeSweep(plan)
    app = app_for(plan, source, tmp_path)
    first, second = cell_at(plan, wd=0, lr=0.01), cell_at(plan, wd=1, lr=0.01)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        heatmap = screen.query_one(PhaseMap)
        await wait_for(pilot, lambda: screen.polls > 0 and heatmap.picture.cells)
        assert point_at(screen.diagram, 0, 0).category == QUEUED
        assert "0/6 done" in screen_text(app) and "2 workers" in screen_text(app)
        assert "--resume" in screen_text(app)  # what q leaves behind is said
        source.running = [first.name]
        await wait_for(pilot, lambda: point_at(screen.diagram, 0, 0).category == RUNNING)
        source.rows = [row(first, "grokking", grokked_step=1234, final_val_acc=0.97)]
        source.running = [second.name]
        await wait_for(pilot, lambda: point_at(screen.diagram, 0, 0).category == "grokking")
        await wait_for(pilot, lambda: cell_colors(heatmap.picture, (0, 0)) == {"grokking"})
        assert point_at(screen.diagram, 1, 0).category == RUNNING
        detail = screen_text(app)
        assert "grokking" in detail and "1234" in detail and "0.97" in detail
        # The strips carry the phase's colour where the cell is.
        col, r, _, _ = heatmap.picture.cells[(0, 0)]
        x, y = heatmap.content_region.x + col + 1, heatmap.content_region.y + r
        strip = screen_strips(app)[y]
        colours = {s.style.color.triplet for s in strip.crop(x, x + 1) if s.style and s.style.color}
        assert tuple(SWEEP_RGB["grokking"]) in {tuple(c) for c in colours}

        await press(pilot, "right", "right", "right", "down", "down")  # clamped at the edges
        assert screen.cursor == (2, 1)
        await wait_for(pilot, lambda: f"{WD} = 2" in screen_text(app))
        assert f"{LR} = 0.03" in screen_text(app) and "queued" in screen_text(app)
        await press(pilot, "left", "left", "left", "up", "up")
        assert screen.cursor == (0, 0)

    drive(app, scenario, size=(100, 30))


def test_c_cycles_the_colour_through_the_columns_and_back(tmp_path):
    plan = grid_plan()
    source = FakeSweep(plan)
    source.rows = [row(plan.cells[0], "grokking", final_val_acc=0.5)]
    app = app_for(plan, source, tmp_path)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        heatmap = screen.query_one(PhaseMap)
        await wait_for(pilot, lambda: screen.polls > 0)
        seen = []
        for _ in COLOR_BY:
            seen.append((screen.color_by, str(heatmap.border_subtitle)))
            await press(pilot, "c")
        assert [c for c, _ in seen] == list(COLOR_BY) and screen.color_by is None
        assert "colour: phase" in seen[0][1] and "colour: final val acc" in seen[1][1]
        assert "colour: grokking step" in seen[2][1]
        await press(pilot, "c")
        await wait_for(pilot, lambda: cell_colors(heatmap.picture, (0, 0)) == {("level", 7)})
        assert "final val acc (median)" in screen_text(app)

    drive(app, scenario, size=(100, 30))


def test_enter_opens_a_finished_cells_curves_and_escape_comes_back(tmp_path):
    plan = grid_plan()
    source = FakeSweep(plan)
    done = plan.cells[0]
    write_run(tmp_path, done)
    source.rows = [row(done, "grokking", grokked_step=40)]
    app = app_for(plan, source, tmp_path)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await wait_for(pilot, lambda: point_at(screen.diagram, 0, 0).category == "grokking")
        await press(pilot, "right", "enter")  # a queued cell: nothing to show yet
        await pilot.pause()
        assert app.screen is screen
        await press(pilot, "left", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunCurvesScreen))
        charts = list(app.screen.query(MainChart))
        assert [c.view for c in charts] == ["loss", "accuracy"]
        snap = charts[0].snapshot
        assert snap is not None and snap.get_series("train_acc").values[-1] == 1.0
        assert dict(snap.milestones)["grokked_step"] == 40
        assert done.name in screen_text(app)
        await press(pilot, "escape")
        await wait_for(pilot, lambda: app.screen is screen)
        await press(pilot, "q")
        await wait_for(pilot, lambda: source.stopped)

    drive(app, scenario, size=(100, 30))


def test_a_missing_run_directory_is_said_not_raised(tmp_path):
    plan = grid_plan()
    source = FakeSweep(plan)
    source.rows = [row(plan.cells[0], "grokking")]
    app = app_for(plan, source, tmp_path)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await wait_for(pilot, lambda: point_at(screen.diagram, 0, 0).category == "grokking")
        await press(pilot, "enter")
        await wait_for(pilot, lambda: app._notifications, what="a notification")
        assert app.screen is screen
        (note,) = list(app._notifications)
        assert "config.toml" in note.message

    drive(app, scenario, size=(100, 30))


def test_no_color_draws_the_phases_as_glyphs(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    plan = one_row_plan()
    source = FakeSweep(plan)
    source.rows, source.running = category_rows(plan)
    app = app_for(plan, source, tmp_path)
    assert app.no_color

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        heatmap = app.screen.query_one(PhaseMap)
        await wait_for(pilot, lambda: len(heatmap.picture.cells) == len(CATEGORIES))
        for i, category in enumerate(CATEGORIES):
            assert cell_glyphs(heatmap.picture, (i, 0)) == {H.PHASE_GLYPHS[category]}
        text = screen_text(app)
        for category in CATEGORIES:
            assert f"{H.PHASE_GLYPHS[category]} {category}" in text  # the legend

    drive(app, scenario, size=(120, 30))


@pytest.mark.parametrize("size", [(80, 24), (30, 8), (4, 3)])
def test_small_terminals_shrink_the_cells_and_never_fail(tmp_path, size):
    plan = plan_from_args("grokking-mod97", [f"{WD}=0,0.1,0.3,1,1.5,2,2.5,3,10",
                          f"{LR}=0.01,0.03,0.1"], 1)  # fmt: skip
    source = FakeSweep(plan)
    source.rows = [row(c, PHASES[i % 5], final_val_acc="inf") for i, c in enumerate(plan.cells)]
    app = app_for(plan, source, tmp_path)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await wait_for(pilot, lambda: screen.polls > 1)
        if size == (80, 24):
            heatmap = screen.query_one(PhaseMap)
            assert len(heatmap.picture.cells) == 27  # every cell, none cut off
            assert "0.01" in screen_text(app) and "10.0" in screen_text(app)
        await press(pilot, "c", "right", "down", "enter")
        await pilot.pause()
        assert app.is_running and app.return_code is None

    drive(app, scenario, size=size)


def test_run_snapshot_refuses_a_directory_without_files(tmp_path):
    with pytest.raises(Exception) as caught:
        run_snapshot(tmp_path)
    assert "config.toml" in str(caught.value)


# ---------------------------------------------------------------- the command line
def sweep_dir(tmp_path: Path) -> tuple[SweepPlan, Path]:
    from engine.sweep.store import SweepDir

    plan = grid_plan()
    folder = SweepDir(tmp_path / "sw")
    folder.open(plan)
    folder.append_row(plan, row(plan.cells[0], "grokking"))
    return plan, folder.path


def test_show_off_a_terminal_prints_the_tables(tmp_path, capsys):
    _, folder = sweep_dir(tmp_path)
    assert main(["sweep", "--show", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "phase diagram" in out and "grokking" in out and "1/6 cells finished" in out


@pytest.mark.parametrize("headless", [False, True])
def test_show_on_a_terminal_opens_the_view_unless_headless(tmp_path, capsys, monkeypatch,
                                                           headless):  # fmt: skip
    _, folder = sweep_dir(tmp_path)
    opened = []
    monkeypatch.setattr("sys.stdout.isatty", lambda: True, raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    monkeypatch.setattr(SweepApp, "run", lambda self: opened.append(self.source.progress()))
    assert main(["sweep", "--show", str(folder), *(["--headless"] if headless else [])]) == 0
    if headless:
        assert opened == [] and "phase diagram" in capsys.readouterr().out
    else:
        (progress,) = opened
        assert progress.finished and progress.done == 1 and progress.total == 6


def test_a_finished_sweep_shows_its_count_and_pooled_keys_say_so(tmp_path):
    from engine.sweep.progress import finished_progress
    from tui.screens.sweep import FinishedSweep

    grid = [f"{WD}=0,1", f"{LR}=0.01", "optim.batch_size=64,128"]
    plan = plan_from_args("grokking-mod97", grid, 1)
    rows = [row(plan.cells[0], "grokking"), row(plan.cells[1], None, status="error")]
    app = app_for(plan, FinishedSweep(finished_progress(len(plan.cells), rows)), tmp_path)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await wait_for(pilot, lambda: "2/4 cells finished, 1 failed" in screen_text(app))
        assert "cells/min" not in screen_text(app) and "--resume" not in screen_text(app)
        heatmap = screen.query_one(PhaseMap)
        assert "pooled: optim.batch_size" in str(heatmap.border_subtitle)
        assert "optim.batch_size: 64, 128" in screen_text(app) and "(pooled)" in screen_text(app)
        await press(pilot, "q")
        await wait_for(pilot, lambda: not app.is_running)

    drive(app, scenario, size=(100, 30))


def test_ctrl_c_stops_the_sweep_as_q_does(tmp_path):
    plan = grid_plan()
    source = FakeSweep(plan)
    app = app_for(plan, source, tmp_path)

    async def scenario(pilot):
        await wait_for(pilot, lambda: isinstance(app.screen, SweepScreen))
        assert not source.stopped
        await press(pilot, "ctrl+c")
        await wait_for(pilot, lambda: source.stopped and not app.is_running)

    drive(app, scenario, size=(100, 30))

"""The MainChart widget: a snapshot's views drawn in braille inside a real Textual app."""

from __future__ import annotations

import asyncio
import math

import pytest
from fakes import screen_strips
from textual.app import App, ComposeResult

from engine.live.snapshot import Series, Snapshot
from engine.vocabulary import RunState, Status
from tui.plot import views as V
from tui.widgets import MainChart
from tui.widgets import main_chart as L

N = 10_000
TRAIN, VAL, BEST = (L.ROLE_CLASSES[r] for r in (V.TRAIN, V.VAL, V.BEST))
TRAIN_FAINT, VAL_FAINT = L.ROLE_CLASSES[V.TRAIN_FAINT], L.ROLE_CLASSES[V.VAL_FAINT]


def snapshot(
    n: int = N, *, best_step: int | None = N // 2, version: int = 1, train=None, val=None
) -> Snapshot:
    steps = tuple(range(1, n + 1))
    if train is None:
        train = tuple(2.0 * math.exp(-i / 2500) + 0.01 * (1 + math.sin(i)) for i in steps)
    if val is None:
        val = tuple(2.2 * math.exp(-i / 3000) + 0.05 * (1 + math.sin(1.3 * i)) for i in steps)
    return Snapshot(
        preset="p",
        title="t",
        task="regression",
        state=RunState.RUNNING,
        status=Status.IMPROVING,
        explanation="",
        step=n,
        epoch=1.0,
        steps_per_s=1.0,
        elapsed_s=1.0,
        target_steps=n,
        hparams=(),
        edited=frozenset(),
        latest=(),
        series=(("train_loss", Series(steps, train)), ("val_loss", Series(steps, val))),
        events=(),
        best_step=best_step,
        version=version,
    )


class ChartApp(App):
    CSS = "MainChart { width: 1fr; height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield MainChart(id="chart")


def run(scenario, size=(120, 40), css: str = "") -> None:
    async def main():
        app = ChartApp()
        if css:
            app.stylesheet.add_source(css)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot, app.query_one(MainChart))

    asyncio.run(main())


def screen_lines(pilot) -> list[str]:
    return [strip.text for strip in screen_strips(pilot.app)]


def colored(pilot, text: str) -> set[tuple[int, int, int]]:
    """The colours `text` is drawn in on the screen."""
    out = set()
    for strip in screen_strips(pilot.app):
        for segment in strip:
            if text in segment.text and segment.style and segment.style.color:
                out.add(tuple(segment.style.color.get_truecolor()))
    return out


def color_of(chart: MainChart, component: str) -> tuple[int, int, int]:
    color = chart.get_component_rich_style(component).color
    assert color is not None
    red, green, blue = color.get_truecolor()
    return red, green, blue


def chart_styles(chart: MainChart) -> set[tuple[tuple[int, int, int], bool]]:
    """(colour, dim) of every segment the chart drew (before the screen dims the colour)."""
    out = set()
    for y in range(chart.size.height):
        for segment in chart.render_line(y):
            style = segment.style
            if style is not None and style.color is not None:
                out.add((tuple(style.color.get_truecolor()), bool(style.dim)))
    return out


def braille_cells(lines: list[str]) -> int:
    return sum(0x2800 < ord(ch) <= 0x28FF for line in lines for ch in line)


def test_renders_10000_point_series_at_120x40():
    async def scenario(pilot, chart):
        assert chart.size == (120, 40)
        chart.draw(snapshot())
        await pilot.pause()
        lines = screen_lines(pilot)
        assert braille_cells(lines) > 200  # two lines across the width
        assert any("━ train" in line and "╍ val" in line for line in lines)
        assert "step" in lines[-1]
        assert colored(pilot, "train") == {color_of(chart, TRAIN)}
        assert colored(pilot, "╍ val") == {color_of(chart, VAL)}
        assert colored(pilot, "best val") == {color_of(chart, BEST)}  # the marker's label
        assert sum("┤" in line for line in lines) >= 3  # y ticks
        assert chart.border_title == "loss · log y"

    run(scenario)


def test_log_linear_and_ema_redraw_and_a_repaint_reuses_the_lines():
    async def scenario(pilot, chart):
        snap = snapshot()
        chart.draw(snap)
        pictures, titles = [], []
        for log, smoothing in ((True, None), (False, None), (True, 0.9)):
            chart.log_scale, chart.smoothing = log, smoothing
            await pilot.pause()
            pictures.append(screen_lines(pilot))
            titles.append(chart.border_title)
            assert braille_cells(pictures[-1]) > 200
        assert pictures[0] != pictures[1] != pictures[2]
        assert titles == ["loss · log y", "loss · linear y", "loss · log y · EMA 0.9"]
        drawn = chart_styles(chart)  # faint: dim too, so that NO_COLOR keeps them apart
        assert (color_of(chart, TRAIN_FAINT), True) in drawn
        assert (color_of(chart, VAL_FAINT), True) in drawn
        assert (color_of(chart, TRAIN), False) in drawn

        lines = [chart.render_line(y) for y in range(chart.size.height)]
        chart.draw(snap)  # the same snapshot and options: nothing to redo
        chart.refresh()
        await pilot.pause()
        assert all(chart.render_line(y) is line for y, line in enumerate(lines))

    run(scenario)


def test_no_snapshot_empty_and_non_finite_series_show_a_message():
    async def scenario(pilot, chart):
        chart.draw(None)
        await pilot.pause()
        assert any("no loss yet" in line for line in screen_lines(pilot))
        assert chart.border_title == "loss · log y"
        chart.smoothing = 0.9
        chart.draw(snapshot(0))
        await pilot.pause()
        assert any("no loss yet" in line for line in screen_lines(pilot))
        bad = snapshot(3, train=(math.nan, math.inf, -1.0), val=(0.0, math.nan, -math.inf))
        chart.smoothing = None
        chart.draw(bad)
        await pilot.pause()
        assert any("no loss yet" in line for line in screen_lines(pilot))
        chart.log_scale, chart.smoothing = False, 0.9  # linear: -1 and 0 can be drawn
        await pilot.pause()
        assert braille_cells(screen_lines(pilot)) >= 1

    run(scenario)


def test_tiny_sizes_do_not_crash():
    async def scenario(pilot, chart):
        chart.smoothing = 0.9
        chart.cursor = 250
        chart.draw(snapshot(500))
        for size in ((1, 1), (3, 2), (12, 5), (40, 12), (2, 40), (120, 1)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            lines = screen_lines(pilot)
            assert len(lines) == size[1] and all(len(line) == size[0] for line in lines)

    run(scenario, size=(40, 12))


def test_a_stylesheet_restyles_the_traces():
    css = "MainChart > .main-chart--train { color: #00ff00; }"

    async def scenario(pilot, chart):
        chart.draw(snapshot())
        await pilot.pause()
        assert colored(pilot, "train") == {(0, 255, 0)}

    run(scenario, css=css)


@pytest.mark.slow  # ~0.4 s of Pilot key presses
def test_cursor_keys_move_a_line_and_the_subtitle_reads_the_values():
    async def scenario(pilot, chart):
        chart.draw(snapshot(1000, best_step=None))
        chart.focus()
        await pilot.pause()
        assert chart.border_subtitle == ""
        await pilot.press("left")
        assert chart.cursor == 1000 and chart.border_subtitle.startswith("step 1,000 · train ")
        await pilot.press("left", "left")
        assert chart.cursor is not None and chart.cursor < 1000
        column = chart.picture.cursor
        await pilot.press("home")
        assert chart.cursor == 1 and chart.picture.cursor is not None
        assert chart.picture.cursor < column  # type: ignore[operator]
        await pilot.press("escape")
        assert chart.cursor is None and chart.border_subtitle == ""

    run(scenario)


@pytest.mark.slow  # ~0.3 s of Pilot
def test_views_cycle_and_a_reset_leaves_the_previous_run_as_a_ghost():
    async def scenario(pilot, chart):
        chart.draw(snapshot(2000, version=1))
        chart.cycle_view()  # regression: loss -> MAD (the snapshot has none: a message)
        await pilot.pause()
        assert chart.border_title.startswith("MAD") and chart.ghost is None
        chart.view = "loss"
        old = chart.snapshot
        chart.draw(snapshot(300, version=2))  # the step went back: a reset
        await pilot.pause()
        assert chart.ghost is old
        lines = screen_lines(pilot)
        assert any("┈ previous" in line for line in lines)
        assert (color_of(chart, L.ROLE_CLASSES[V.GHOST_TRAIN]), True) in chart_styles(chart)
        assert chart.clear_ghost() and chart.ghost is None and not chart.clear_ghost()

    run(scenario)

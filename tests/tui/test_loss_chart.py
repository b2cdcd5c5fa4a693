"""The LossChart widget: a snapshot's losses drawn in braille inside a real Textual app."""

from __future__ import annotations

import asyncio
import math

from textual.app import App, ComposeResult

from engine.live.snapshot import Series, Snapshot
from tui.widgets import LossChart

N = 10_000


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
        state="running",
        status="improving",
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
    CSS = "LossChart { width: 1fr; height: 1fr; }"

    def compose(self) -> ComposeResult:
        yield LossChart(id="chart")


def run(scenario, size=(120, 40)) -> None:
    async def main():
        app = ChartApp()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(pilot, app.query_one(LossChart))

    asyncio.run(main())


def screen_lines(pilot) -> list[str]:
    return [strip.text for strip in pilot.app.screen._compositor.render_strips()]


def colored(pilot, text: str) -> set[tuple[int, int, int]]:
    """The colours `text` is drawn in on the screen."""
    out = set()
    for strip in pilot.app.screen._compositor.render_strips():
        for segment in strip:
            if text in segment.text and segment.style and segment.style.color:
                out.add(tuple(segment.style.color.get_truecolor()))
    return out


def braille_cells(lines: list[str]) -> int:
    return sum(0x2800 < ord(ch) <= 0x28FF for line in lines for ch in line)


def test_renders_10000_point_series_at_120x40():
    async def scenario(pilot, chart):
        assert chart.size == (120, 40)
        chart.draw(snapshot(), log=True, smoothing=None)
        await pilot.pause()
        lines = screen_lines(pilot)
        assert braille_cells(lines) > 200  # two lines across the width
        assert any("━ train" in line and "━ val" in line for line in lines)
        assert "step" in lines[-1]
        assert colored(pilot, "train") == {LossChart.TRAIN}
        assert colored(pilot, "val") == {LossChart.VAL}
        assert LossChart.BEST in colored(pilot, "⡇") | colored(pilot, "⢸")  # best step
        assert sum("┤" in line for line in lines) >= 3  # y ticks
        assert chart.render_seconds > 0  # measured (how long is not a test's business)

    run(scenario)


def test_log_linear_and_ema_redraw_and_a_repaint_reuses_the_lines():
    async def scenario(pilot, chart):
        snap = snapshot()
        pictures = []
        for log, smoothing in ((True, None), (False, None), (True, 0.9)):
            chart.draw(snap, log=log, smoothing=smoothing)
            await pilot.pause()
            pictures.append(screen_lines(pilot))
            assert braille_cells(pictures[-1]) > 200
        assert pictures[0] != pictures[1] != pictures[2]
        every_colour = colored(pilot, "")
        assert LossChart.TRAIN_FAINT in every_colour and LossChart.VAL_FAINT in every_colour

        strips = chart._strips
        chart.draw(snap, log=True, smoothing=0.9)  # the same: nothing to redo
        chart.refresh()
        await pilot.pause()
        assert chart._strips is strips

    run(scenario)


def test_no_snapshot_empty_and_non_finite_series_show_a_message():
    async def scenario(pilot, chart):
        chart.draw(None, log=True, smoothing=None)
        await pilot.pause()
        assert any("no loss yet" in line for line in screen_lines(pilot))
        chart.draw(snapshot(0), log=True, smoothing=0.9)
        await pilot.pause()
        assert any("no loss yet" in line for line in screen_lines(pilot))
        bad = snapshot(3, train=(math.nan, math.inf, -1.0), val=(0.0, math.nan, -math.inf))
        chart.draw(bad, log=True, smoothing=None)
        await pilot.pause()
        assert any("no loss yet" in line for line in screen_lines(pilot))
        chart.draw(bad, log=False, smoothing=0.9)  # linear: -1 and 0 can be drawn
        await pilot.pause()
        assert braille_cells(screen_lines(pilot)) >= 1

    run(scenario)


def test_tiny_sizes_do_not_crash():
    async def scenario(pilot, chart):
        chart.draw(snapshot(500), log=True, smoothing=0.9)
        for size in ((1, 1), (3, 2), (12, 5), (40, 12), (2, 40), (120, 1)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            lines = screen_lines(pilot)
            assert len(lines) == size[1] and all(len(line) == size[0] for line in lines)

    run(scenario, size=(40, 12))

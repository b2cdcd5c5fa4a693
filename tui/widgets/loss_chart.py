"""The main chart: series drawn in braille by tui.plot.chart, through the line API."""

from __future__ import annotations

import time

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from engine.live.snapshot import Snapshot
from tui.plot import chart
from tui.plot import series as S


class LossChart(Widget):
    """Train and validation loss against step: log or linear y axis, optional EMA.

    Drawn in braille dots by tui.plot.chart through the Line API: the strips are rebuilt
    only when the snapshot, the options, the size or the styles change (3-4 ms at
    120x40 with two series of 10,000 points, half of it turning the snapshot's tuples
    into arrays), and render_line hands back a cached Strip.
    """

    DEFAULT_CSS = """
    LossChart { width: 1fr; height: 1fr; }
    LossChart > .loss-chart--axis { color: $foreground-muted; }
    LossChart > .loss-chart--label { color: $foreground; }
    """
    COMPONENT_CLASSES = {"loss-chart--axis", "loss-chart--label"}

    TRAIN = (64, 160, 255)
    VAL = (255, 140, 40)
    TRAIN_FAINT = (40, 80, 120)
    VAL_FAINT = (120, 75, 40)
    BEST = (110, 110, 110)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._snap: Snapshot | None = None
        self._log = True
        self._smoothing: float | None = None
        self._built_snap: Snapshot | None = None  # what self._strips were drawn from
        self._built_for: tuple | None = None  # ... with which options, size and styles
        self._strips: list[Strip] = []
        self._finite_cache: dict[str, tuple] = {}  # name: (steps, values, (xs, ys))
        self.render_seconds = 0.0  # how long the last rebuild of the lines took

    def draw(self, snap: Snapshot | None, *, log: bool, smoothing: float | None) -> None:
        """Show this snapshot (drawn at the next repaint)."""
        if snap is self._snap and log == self._log and smoothing == self._smoothing:
            return
        self._snap, self._log, self._smoothing = snap, log, smoothing
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._update_lines()  # once per paint, not once per line
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

    def _update_lines(self) -> None:
        """Rebuild the chart's strips if what they show has changed."""
        width, height = self.size
        base = self.rich_style
        axis = self.get_component_rich_style("loss-chart--axis")
        label = self.get_component_rich_style("loss-chart--label")
        key = (self._log, self._smoothing, width, height, base, axis, label)
        if self._built_snap is self._snap and key == self._built_for:
            return
        started = time.perf_counter()
        picture = chart.render_chart(
            self._traces(max(1, width - 8)),
            width,
            height,
            log=self._log,
            marker_x=self._snap.best_step if self._snap is not None else None,
            marker_style=self.BEST,
            legend=(("train", self.TRAIN), ("val", self.VAL)),
            x_label="step",
            empty_message="no loss yet",
        )
        styles: dict = {None: base, chart.AXIS: axis, chart.LABEL: label}
        strips = []
        for row in picture.rows:
            segments = []
            for text, style_key in row:
                style = styles.get(style_key)
                if style is None:
                    style = styles[style_key] = base + Style(color=Color.from_rgb(*style_key))
                segments.append(Segment(text, style))
            strips.append(Strip(segments, width))
        self._strips, self._built_snap, self._built_for = strips, self._snap, key
        self.render_seconds = time.perf_counter() - started

    def _traces(self, width: int) -> list[chart.Trace]:
        """Faint raw series first (with smoothing), then train, then val: later ones win
        a shared cell."""
        snap, log, smoothing = self._snap, self._log, self._smoothing
        if snap is None:
            return []
        series = [
            (self._finite(snap, name), color, faint)
            for name, color, faint in (
                ("train_loss", self.TRAIN, self.TRAIN_FAINT),
                ("val_loss", self.VAL, self.VAL_FAINT),
            )
        ]
        traces = []
        if smoothing:
            for (steps, values), _, faint in series:
                xs, ys = S.chart_arrays(steps, values, width, log=log)
                traces.append(chart.Trace(xs, ys, faint))
        for (steps, values), color, _ in series:
            xs, ys = S.chart_arrays(steps, values, width, log=log, smoothing=smoothing)
            traces.append(chart.Trace(xs, ys, color))
        return traces

    def _finite(self, snap: Snapshot, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A series' finite points as arrays, converted once per series: a toggle of
        log or EMA, or a snapshot that kept the same tuples, reuses them."""
        ser = snap.get_series(name)
        cached = self._finite_cache.get(name)
        if cached is not None and cached[0] is ser.steps and cached[1] is ser.values:
            return cached[2]
        arrays = S.finite_arrays(ser.steps, ser.values)
        self._finite_cache[name] = (ser.steps, ser.values, arrays)
        return arrays

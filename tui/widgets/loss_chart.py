"""The main chart: series drawn in braille by tui.plot.chart, through the line API."""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from engine.live.snapshot import Snapshot
from tui.plot import chart
from tui.plot import series as S

EMA_SMOOTHING = 0.9  # debiased EMA weight when smoothing is on (TensorBoard's slider)

# Component classes of the traces: a theme (or an app's CSS) restyles them.
TRAIN = "loss-chart--train"
VAL = "loss-chart--val"
TRAIN_FAINT = "loss-chart--train-faint"  # the raw series under its smoothed curve
VAL_FAINT = "loss-chart--val-faint"
BEST = "loss-chart--best"  # the vertical line at the best validation step


class LossChart(Widget):
    """Train and validation loss against step: log or linear y axis, optional EMA.

    Drawn in braille dots by tui.plot.chart through the Line API: the strips are rebuilt
    only when the snapshot, the options, the size or the styles change (3-4 ms at
    120x40 with two series of 10,000 points, half of it turning the snapshot's tuples
    into arrays), and render_line hands back a cached Strip. The border title says
    what is drawn: the scale, the smoothing and the best validation step.
    """

    DEFAULT_CSS = """
    LossChart { width: 1fr; height: 1fr; }
    LossChart > .loss-chart--axis { color: $foreground-muted; }
    LossChart > .loss-chart--label { color: $foreground; }
    LossChart > .loss-chart--train { color: #40a0ff; }
    LossChart > .loss-chart--val { color: #ff8c28; }
    LossChart > .loss-chart--train-faint { color: #285078; }
    LossChart > .loss-chart--val-faint { color: #784b28; }
    LossChart > .loss-chart--best { color: #6e6e6e; }
    """
    COMPONENT_CLASSES = {
        "loss-chart--axis",
        "loss-chart--label",
        TRAIN,
        VAL,
        TRAIN_FAINT,
        VAL_FAINT,
        BEST,
    }

    log_scale: reactive[bool] = reactive(True, init=False)
    smoothing: reactive[bool] = reactive(False, init=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.snapshot: Snapshot | None = None
        self._built_snap: Snapshot | None = None  # what self._strips were drawn from
        self._built_for: tuple | None = None  # ... with which options, size and styles
        self._strips: list[Strip] = []
        self._finite_cache: dict[str, tuple] = {}  # name: (steps, values, (xs, ys))

    @property
    def ema(self) -> float | None:
        """The EMA weight in use, None when not smoothing."""
        return EMA_SMOOTHING if self.smoothing else None

    def on_mount(self) -> None:
        self._update_title()

    def draw(self, snap: Snapshot | None) -> None:
        """Show this snapshot (drawn at the next repaint)."""
        if snap is not self.snapshot:
            self.snapshot = snap
            self._update_title()
            self.refresh()

    def watch_log_scale(self) -> None:
        self._update_title()
        self.refresh()

    def watch_smoothing(self) -> None:
        self._update_title()
        self.refresh()

    def _update_title(self) -> None:
        scale = "log y" if self.log_scale else "linear y"
        ema = f" · EMA {EMA_SMOOTHING}" if self.smoothing else ""
        best = self.snapshot.best_step if self.snapshot is not None else None
        marker = f" · │ best val {best:,}" if best is not None else ""
        title = f"loss · {scale}{ema}{marker}"
        if self.border_title != title:
            self.border_title = title

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
        # The picture's style keys are chart.AXIS, chart.LABEL and the trace classes.
        styles: dict = {None: base}
        for key in (chart.AXIS, chart.LABEL):
            styles[key] = self.get_component_rich_style(f"loss-chart--{key}")
        for name in (TRAIN, VAL, TRAIN_FAINT, VAL_FAINT, BEST):
            styles[name] = base + Style(color=self.get_component_rich_style(name).color)
        key = (self.log_scale, self.smoothing, width, height, tuple(styles.values()))
        if self._built_snap is self.snapshot and key == self._built_for:
            return
        snap = self.snapshot
        picture = chart.render_chart(
            self._traces(max(1, width - 8)),
            width,
            height,
            log=self.log_scale,
            marker_x=snap.best_step if snap is not None else None,
            marker_style=BEST,
            legend=(("train", TRAIN), ("val", VAL)),
            x_label="step",
            empty_message="no loss yet",
        )
        strips = [
            Strip([Segment(text, styles[style_key]) for text, style_key in row], width)
            for row in picture.rows
        ]
        self._strips, self._built_snap, self._built_for = strips, snap, key

    def _traces(self, width: int) -> list[chart.Trace]:
        """Faint raw series first (with smoothing), then train, then val: later ones win
        a shared cell."""
        snap, log, smoothing = self.snapshot, self.log_scale, self.ema
        if snap is None:
            return []
        series = [
            (self._finite(snap, name), style, faint)
            for name, style, faint in (
                ("train_loss", TRAIN, TRAIN_FAINT),
                ("val_loss", VAL, VAL_FAINT),
            )
        ]
        traces = []
        if smoothing:
            for (steps, values), _, faint in series:
                xs, ys = S.chart_arrays(steps, values, width, log=log)
                traces.append(chart.Trace(xs, ys, faint))
        for (steps, values), style, _ in series:
            xs, ys = S.chart_arrays(steps, values, width, log=log, smoothing=smoothing)
            traces.append(chart.Trace(xs, ys, style))
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

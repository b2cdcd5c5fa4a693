"""One metric as a label, a sparkline and its current value."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult, RenderResult
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from tui.format import format_value
from tui.plot import series as S
from tui.widgets.content import set_content
from tui.widgets.palette import OTHER_COLOR, SERIES_GLYPHS, TRAIN_COLOR, VAL_COLOR


def spark_bars(data: Sequence[float], glyphs: str, scale: tuple[float, float] | None) -> str:
    """One glyph per value, its height the value's place in `scale` (lo, hi), or in the
    data's own range when `scale` is None; values outside the scale are clipped to it.
    The lowest glyph is never blank, so a value at the bottom still shows as a bar."""
    if not data:
        return ""
    lo, hi = scale if scale is not None else (min(data), max(data))
    top = len(glyphs) - 1
    if hi <= lo:
        return glyphs[0] * len(data)  # a constant series: a flat line at the bottom
    span = hi - lo
    return "".join(glyphs[min(top, max(0, int((v - lo) / span * len(glyphs))))] for v in data)


def series_role(metric: str) -> str:
    """train, val or other: which glyphs and colour a metric's sparkline takes."""
    head = metric.split("_", 1)[0]
    return head if head in ("train", "val") else "other"


class SparkBars(Widget):
    """A one-line sparkline drawn with its role's glyphs (train solid blocks, val braille
    dots: they differ without colour), over a fixed scale or the data's own range."""

    DEFAULT_CSS = f"""
    SparkBars {{ height: 1; width: 1fr; }}
    SparkBars.-train {{ color: {TRAIN_COLOR}; }}
    SparkBars.-val {{ color: {VAL_COLOR}; }}
    SparkBars.-other {{ color: {OTHER_COLOR}; }}
    """

    def __init__(self, role: str = "other", **kwargs) -> None:
        super().__init__(**kwargs)
        self.values: tuple[float, ...] = ()  # finite (log10 where asked), all of them
        self.scale: tuple[float, float] | None = None
        self.set_role(role)

    def set_role(self, role: str) -> None:
        self.role = role
        for name in ("train", "val", "other"):
            self.set_class(name == role, f"-{name}")
        self.refresh()

    def set_values(self, values: tuple[float, ...], scale: tuple[float, float] | None) -> None:
        self.values, self.scale = values, scale
        self.refresh()

    def render(self) -> RenderResult:
        # Bucketed here, to the width of the moment: a resized row redraws at its new size.
        width = max(1, self.size.width)
        data = S.spark_data(self.values, width)
        if 0 < len(data) < width:  # fewer points than cells: each point gets its share
            data = tuple(data[i * len(data) // width] for i in range(width))
        return spark_bars(data, SERIES_GLYPHS[self.role], self.scale)


# Fixed scales of bounded metrics: an accuracy of 1.1% is a low bar, not a full one.
FIXED_SCALES: dict[str, tuple[float, float]] = {"train_acc": (0.0, 1.0), "val_acc": (0.0, 1.0)}


class MetricRow(Horizontal):
    """label ▁▂▃▅▇ value: one metric's recent history and its current value."""

    DEFAULT_CSS = """
    MetricRow { height: 1; width: 1fr; }
    MetricRow > .metric-label { width: 11; color: $foreground-muted; }
    MetricRow > SparkBars { margin: 0 1 0 0; }
    MetricRow > .metric-value { width: 10; text-align: right; }
    MetricRow > .metric-value.-bad { color: $text-error; text-style: bold; }
    """

    def __init__(self, metric: str, label: str, *, log10: bool = False, id: str | None = None):
        super().__init__(id=id)
        self.metric = metric
        self.log10 = log10
        self._label = label
        self._cache_key: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._label, classes="metric-label")
        yield SparkBars(series_role(self.metric))
        yield Static("—", classes="metric-value")

    def set_metric(self, metric: str, label: str) -> None:
        """Swap which series this row shows (accuracy vs MAD once the task is known)."""
        if metric != self.metric:
            self.metric = metric
            self._cache_key = None
            self.query_one(SparkBars).set_role(series_role(metric))
        if label != self._label:
            self._label = label
            self.query_one(".metric-label", Static).update(label)

    def show(self, snap: Snapshot, fallback: float | None = None) -> None:
        """Draw the series; the value shown is its newest point (else `fallback`)."""
        ser = snap.get_series(self.metric)
        key = (len(ser.values), ser.steps[-1] if ser.steps else None, repr(ser.last))
        if key != self._cache_key:
            self._cache_key = key
            values = S.clip(S.finite_values(ser.values, log10=self.log10))
            self.query_one(SparkBars).set_values(values, FIXED_SCALES.get(self.metric))
        value = ser.last if ser.values else fallback
        label = self.query_one(".metric-value", Static)
        set_content(label, format_value(value), layout=False)
        label.set_class(value is not None and not S.is_finite(value), "-bad")

"""One metric as a label, a sparkline and its current value."""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from engine.live.snapshot import Snapshot
from tui.format import format_value
from tui.plot import series as S
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


# Fixed scales of bounded metrics: an accuracy of 1.1% is a low bar, not a full one.
FIXED_SCALES: dict[str, tuple[float, float]] = {"train_acc": (0.0, 1.0), "val_acc": (0.0, 1.0)}


# Cells of the label and of the value; one blank cell separates the bars from the value.
LABEL_WIDTH, VALUE_WIDTH = 11, 10


class MetricRow(Widget):
    """label ▁▂▃▅▇ value: one metric's recent history and its current value.

    Drawn through the Line API as one cached Strip: a poll that brings nothing new for
    this metric leaves it alone, and a new point repaints one line of one widget (three
    widgets a row cost the compositor a render call each on every redraw). The bars take
    their role's glyphs (train solid blocks, val braille dots: they differ without
    colour) over a fixed scale or the data's own range.
    """

    DEFAULT_CSS = f"""
    MetricRow {{ height: 1; width: 1fr; }}
    MetricRow > .metric-row--label {{ color: $foreground-muted; }}
    MetricRow > .metric-row--train {{ color: {TRAIN_COLOR}; }}
    MetricRow > .metric-row--val {{ color: {VAL_COLOR}; }}
    MetricRow > .metric-row--other {{ color: {OTHER_COLOR}; }}
    MetricRow > .metric-row--bad {{ color: $text-error; text-style: bold; }}
    """
    COMPONENT_CLASSES = {
        "metric-row--label",
        "metric-row--train",
        "metric-row--val",
        "metric-row--other",
        "metric-row--bad",
    }

    def __init__(self, metric: str, label: str, *, log10: bool = False, id: str | None = None):
        super().__init__(id=id)
        self.metric = metric
        self.log10 = log10
        self.label = label
        self._cache_key: tuple | None = None
        self.values: tuple[float, ...] = ()  # finite (log10 where asked), all of them
        self.value_text = "—"
        self.bad = False  # the value is NaN or infinite: drawn as an error
        self._strip: Strip | None = None  # the drawn line, None when it must be rebuilt
        self._strip_width = 0
        self._styles: dict[str, Style] | None = None

    @property
    def role(self) -> str:
        return series_role(self.metric)

    def set_metric(self, metric: str, label: str) -> None:
        """Swap which series this row shows (accuracy vs MAD once the task is known)."""
        if metric != self.metric:
            self.metric = metric
            self._cache_key = None
            self.values = ()
        self.label = label
        self._changed()

    def show(self, snap: Snapshot, fallback: float | None = None) -> None:
        """Draw the series; the value shown is its newest point (else `fallback`)."""
        ser = snap.get_series(self.metric)
        key = (len(ser.values), ser.steps[-1] if ser.steps else None, repr(ser.last))
        changed = False
        if key != self._cache_key:
            self._cache_key = key
            self.values = S.clip(S.finite_values(ser.values, log10=self.log10))
            changed = True
        value = ser.last if ser.values else fallback
        text, bad = format_value(value), value is not None and not S.is_finite(value)
        if (text, bad) != (self.value_text, self.bad):
            self.value_text, self.bad = text, bad
            changed = True
        if changed:
            self._changed()

    def _changed(self) -> None:
        self._strip = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()  # a theme or CSS change: styles and line anew
        self._styles = None
        self._strip = None

    def bars(self, width: int) -> str:
        """The sparkline `width` cells wide, bucketed to that width."""
        data = S.spark_data(self.values, width)
        if 0 < len(data) < width:  # fewer points than cells: each point gets its share
            data = tuple(data[i * len(data) // width] for i in range(width))
        return spark_bars(data, SERIES_GLYPHS[self.role], FIXED_SCALES.get(self.metric))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y != 0:
            return Strip.blank(width, self.rich_style)
        if self._strip is None or self._strip_width != width:
            self._strip, self._strip_width = self._build(width), width
        return self._strip

    def _build(self, width: int) -> Strip:
        if self._styles is None:
            base = self.rich_style
            self._styles = {"base": base} | {
                name: base + self.get_component_rich_style(f"metric-row--{name}")
                for name in ("label", "train", "val", "other", "bad")
            }
            # Not bold, said explicitly: a style apart from the padding's, so the blanks
            # before the number stay a run of their own (an SVG export draws them as
            # background only, and the number where its cells are).
            self._styles["value"] = base + Style(bold=False)
        styles = self._styles
        bar_width = max(0, width - LABEL_WIDTH - VALUE_WIDTH - 1)
        bars = self.bars(bar_width) if bar_width else ""
        label, value = self.label[:LABEL_WIDTH], self.value_text[:VALUE_WIDTH]
        base = styles["base"]
        segments = [  # the padding in the row's own style, apart from the texts
            Segment(label, styles["label"]),
            Segment(" " * (LABEL_WIDTH - len(label)), base),
            Segment(bars, styles[self.role]),
            Segment(" " * (bar_width - len(bars) + 1 + VALUE_WIDTH - len(value)), base),
            Segment(value, styles["bad"] if self.bad else styles["value"]),
        ]
        return Strip(segments).crop_extend(0, width, base)

"""One metric as a label, a sparkline and its current value."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Sparkline, Static

from engine.live.snapshot import Snapshot
from tui.format import format_value
from tui.plot import series as S
from tui.widgets.content import set_content


class MetricRow(Horizontal):
    """label ▁▂▃▅▇ value: one metric's recent history and its current value."""

    DEFAULT_CSS = """
    MetricRow { height: 1; width: 1fr; }
    MetricRow > .metric-label { width: 11; color: $foreground-muted; }
    MetricRow > Sparkline { width: 1fr; margin: 0 1 0 0; }
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
        yield Sparkline((), summary_function=max)
        yield Static("—", classes="metric-value")

    def set_metric(self, metric: str, label: str) -> None:
        """Swap which series this row shows (accuracy vs MAD once the task is known)."""
        if metric != self.metric:
            self.metric = metric
            self._cache_key = None
        if label != self._label:
            self._label = label
            self.query_one(".metric-label", Static).update(label)

    def show(self, snap: Snapshot, fallback: float | None = None) -> None:
        """Draw the series; the value shown is its newest point (else `fallback`)."""
        ser = snap.get_series(self.metric)
        spark = self.query_one(Sparkline)
        width = spark.size.width or 40
        key = (len(ser.values), ser.steps[-1] if ser.steps else None, repr(ser.last), width)
        if key != self._cache_key:
            self._cache_key = key
            spark.data = S.spark_data(ser.values, width, log10=self.log10)
        value = ser.last if ser.values else fallback
        label = self.query_one(".metric-value", Static)
        set_content(label, format_value(value), layout=False)
        label.set_class(value is not None and not S.is_finite(value), "-bad")

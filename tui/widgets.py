"""The dashboard's panels. Each one takes a Snapshot (plain tuples) and redraws itself.

No widget here talks to the runner: the dashboard polls, then hands each panel the
latest snapshot. Everything drawn goes through tui.plot.series first, so NaN, inf and empty
series are harmless.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from rich.color import Color
from rich.console import Group
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import RichLog, Sparkline, Static

from engine.live.snapshot import Event, Snapshot
from tui.plot import chart
from tui.plot import series as S

# Style (theme variable) of each run state's badge in the header.
STATE_STYLES = {
    "compiling": "bold $foreground on $warning-muted",
    "running": "bold $text-success on $success-muted",
    "paused": "bold $text-warning on $warning-muted",
    "diverged": "bold $text-error on $error-muted",
    "done": "bold $text-primary on $primary-muted",
    "error": "bold $text-error on $error-muted",
}

# Theme variable for each status word (status panel, event log).
STATUS_COLORS = {
    "compiling": "warning",
    "improving": "success",
    "plateau": "warning",
    "converged": "primary",
    "diverged": "error",
    "overfitting": "error",
    "underfitting": "warning",
    "memorizing": "accent",
    "grokked": "success",
}

# Colour (theme variable) of an event in the log, by kind; statuses use STATUS_COLORS.
EVENT_COLORS = {
    "edit": "warning",
    "test": "accent",
    "reset": "secondary",
    "reseed": "secondary",
    "error": "error",
    "diverged": "error",
    "grokked": "success",
    "memorized": "accent",
    "converged": "primary",
    "best_val": "success",
    "done": "primary",
}


def set_content(widget: Static, content, *, layout: bool = True) -> None:
    """Static.update only when the content changed: an update costs a repaint (and a
    layout pass, unless the widget's size cannot depend on its content)."""
    # Content's == compares the text only: a change of style must count too.
    key = (content.plain, tuple(content.spans)) if isinstance(content, Content) else content
    if getattr(widget, "_groklab_content", None) != key:
        widget._groklab_content = key  # type: ignore[attr-defined]
        widget.update(content, layout=layout)


def set_wrapped_content(widget: Static, content: Content) -> None:
    """set_content for auto-height text: a layout pass (the costly part of a redraw) only
    when the wrapped line count may have changed, not for every new number."""
    width = max(widget.size.width, 1)
    lines = sum(max(1, -(-len(line) // width)) for line in content.plain.split("\n"))
    layout = getattr(widget, "_groklab_lines", None) != lines
    widget._groklab_lines = lines  # type: ignore[attr-defined]
    set_content(widget, content, layout=layout)


class RunHeader(Static):
    """One line: preset, step, epoch, steps/s and the run state as one word."""

    DEFAULT_CSS = """
    RunHeader { height: 1; width: 1fr; background: $panel; color: $foreground; }
    """

    def show(self, snap: Snapshot) -> None:
        # The state word comes first: on a narrow terminal the end of the line is cut.
        target = f"/{snap.target_steps:,}" if snap.target_steps else ""
        epoch = f"{snap.epoch:.2f}" if S.is_finite(snap.epoch) else "—"
        speed = f"{snap.steps_per_s:,.0f}" if S.is_finite(snap.steps_per_s) else "—"
        state = snap.state if snap.state else "?"
        sep = (" · ", "$foreground-muted")
        line = Content.assemble(
            (f" {state} ", STATE_STYLES.get(state, "bold reverse")),
            " ",
            (snap.preset, "bold $text-primary"),
            sep,
            ("step ", "$foreground-muted"),
            (f"{snap.step:,}{target}", "bold"),
            sep,
            ("epoch ", "$foreground-muted"),
            (epoch, "bold"),
            sep,
            (speed, "bold"),
            (" steps/s", "$foreground-muted"),
            sep,
            (snap.title, "italic $foreground-muted"),
        )
        set_content(self, line, layout=False)


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
        set_content(label, S.format_value(value), layout=False)
        label.set_class(value is not None and not S.is_finite(value), "-bad")


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


class StatusPanel(VerticalScroll):
    """The monitor's status word, its explanation, the guarantee and the test result."""

    DEFAULT_CSS = """
    StatusPanel > #status-word { text-style: bold; }
    StatusPanel > #status-guarantee { margin: 1 0 0 0; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._guarantee_rows: list | None = None

    def compose(self) -> ComposeResult:
        yield Static("compiling", id="status-word")
        yield Static("", id="status-explanation")
        yield Static("", id="status-extra")  # test result and milestones: above the fold
        yield Static("", id="status-guarantee")

    def show(self, snap: Snapshot) -> None:
        word = self.query_one("#status-word", Static)
        color = STATUS_COLORS.get(snap.status, "foreground")
        set_content(
            word,
            Content.styled(
                snap.status.upper(), f"bold $text-{color}" if color != "foreground" else "bold"
            ),
        )
        set_wrapped_content(
            self.query_one("#status-explanation", Static), Content(snap.explanation or "")
        )

        guarantee = self.query_one("#status-guarantee", Static)
        rows = list(snap.guarantee)
        if rows and snap.observed_contraction is not None:
            rows.append(("observed contraction", S.format_value(snap.observed_contraction, 6)))
        if rows != self._guarantee_rows:  # rebuilt only when a value changed
            same_shape = self._guarantee_rows is not None and len(rows) == len(self._guarantee_rows)
            self._guarantee_rows = rows
            if rows:
                table = Table.grid(padding=(0, 1), expand=True)
                table.add_column(ratio=1, style="dim", overflow="fold")
                table.add_column(justify="right", no_wrap=True)
                for label, value in rows:
                    table.add_row(label, str(value))
                guarantee.update(
                    Group(Text("guarantee (GD on a quadratic)", style="bold"), table),
                    layout=not same_shape,
                )
            guarantee.display = bool(rows)

        extra: list[Content] = []
        if snap.test is not None:
            parts = ", ".join(
                f"{k.removeprefix('test_')} {S.format_value(v)}" for k, v in snap.test
            )
            extra.append(Content.assemble(("test set: ", "bold $text-accent"), parts))
        if snap.best_step is not None:
            extra.append(
                Content.assemble(("best val at step ", "$foreground-muted"), f"{snap.best_step:,}")
            )
        milestones = [
            f"{k.removesuffix('_step')} @ {v:,}" for k, v in snap.milestones if v is not None
        ]
        if milestones:
            extra.append(
                Content.assemble(("milestones: ", "$foreground-muted"), ", ".join(milestones))
            )
        set_wrapped_content(self.query_one("#status-extra", Static), Content("\n").join(extra))


# Order and labels of the hyperparameter panel.
HPARAM_ROWS = (
    ("optimizer", "optimizer"),
    ("lr", "lr"),
    ("lr_now", "lr now"),  # only with a schedule: where the base lr has been taken to
    ("weight_decay", "weight decay"),
    ("batch_size", "batch size"),
    ("momentum", "momentum"),
    ("beta1", "beta1"),
    ("beta2", "beta2"),
    ("schedule", "schedule"),
)


def format_hparam(name: str, value: object) -> str:
    if value is None:
        return "—"
    if name == "batch_size":
        try:
            return "full" if int(value) == 0 else f"{int(value):,}"  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return S.format_value(value)
    return str(value)


class HParamPanel(Static):
    """The optimizer's settings; values edited live are highlighted, pending ones arrowed."""

    def show(self, snap: Snapshot, pending: dict[str, object]) -> None:
        hp = dict(snap.hparams)
        lines = []
        for name, label in HPARAM_ROWS:
            if name not in hp and name != "momentum":
                continue
            if name == "momentum" and hp.get(name) is None and "beta1" in hp:
                continue  # adam's beta1 is its momentum
            value = format_hparam(name, hp.get(name))
            edited = name in snap.edited
            parts: list[str | tuple[str, str]] = [
                ("●" if edited else " ", "bold $text-warning" if edited else ""),
                (f"{label:<13}", "$foreground-muted"),
                (value, "bold $text-warning" if edited else "bold"),
            ]
            if name in pending:
                parts.append((f" → {format_hparam(name, pending[name])}", "italic $text-accent"))
            lines.append(Content.assemble(*parts))
        set_content(self, Content("\n").join(lines), layout=False)


def event_line(event: Event, colors: dict[str, str]) -> Text:
    """One event as a log line: step, kind, detail, coloured by kind."""
    kind = event.kind
    word = event.detail.split(":", 1)[0].strip().split(" ", 1)[0] if kind == "status" else kind
    var = STATUS_COLORS.get(word) if kind == "status" else EVENT_COLORS.get(kind)
    color = colors.get(var or "", None)
    text = Text(no_wrap=False)
    text.append(f"{event.step:>6,} ", style="dim")
    text.append(f"{kind} ", style=Style(color=color, bold=True) if color else "bold")
    text.append(event.detail)
    return text


# Event kinds that can arrive at every evaluation or key press: a run of them shows as
# one line, the latest, with a count, instead of flooding the log.
FOLDED_KINDS = frozenset({"best_val", "step"})
MAX_LOG_LINES = 2000


class EventLog(RichLog):
    """Events, oldest first; each poll appends only the ones not yet written."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            max_lines=MAX_LOG_LINES, min_width=1, wrap=True, markup=False, highlight=False, **kwargs
        )
        self._last: Event | None = None
        self._lines: list[Text] = []  # kept to re-wrap them when the width changes
        self._wrapped_at = 0
        self._tail_kind: str | None = None  # kind of the last line, if it can fold
        self._tail_count = 0
        self._tail_strips = 0  # screen lines the last line took

    def _colors(self) -> dict[str, str]:
        theme = self.app.theme_variables
        return {
            name: theme.get(f"text-{name}", theme.get(name, ""))
            for name in set(STATUS_COLORS.values()) | set(EVENT_COLORS.values())
        }

    def new_events(self, events: Sequence[Event]) -> tuple[list[Event], bool]:
        """Events after the last one written, and whether the run restarted (reset).

        snapshot.events is a bounded window of the most recent events, so a count alone
        cannot say what is new once the window is full: find the last event written.
        """
        last = self._last
        if last is None:
            return list(events), False
        for i in range(len(events) - 1, -1, -1):
            if events[i] == last:
                return list(events[i + 1 :]), False
        if not events:
            return [], False
        if events[-1].time >= last.time and events[-1].step >= last.step:
            # The window slid past the last one written: keep what is newer.
            return [e for e in events if (e.time, e.step) > (last.time, last.step)], False
        return list(events), True  # time went backwards: a new run (reset)

    def show(self, snap: Snapshot) -> None:
        fresh, restarted = self.new_events(snap.events)
        if restarted:
            self._add(Text("── new run ──", style="dim"))
        if not fresh:
            return
        colors = self._colors()
        for event in fresh:
            self._add(event_line(event, colors), event.kind)
        self._last = fresh[-1]

    def note(self, message: str) -> None:
        """A line from the UI itself (not a runner event), e.g. a request made."""
        self._add(Text(f"{'':>6} {message}", style="dim italic"))

    def _add(self, line: Text, kind: str | None = None) -> None:
        fold = (
            kind in FOLDED_KINDS
            and kind == self._tail_kind
            and self._size_known
            and 0 < self._tail_strips <= len(self.lines)
        )
        if fold:
            # Replace the previous line of this kind with the newest one, counted.
            self._tail_count += 1
            line = line.copy()
            line.append(f"  (×{self._tail_count})", style="dim")
            del self.lines[-self._tail_strips :]
            self._line_cache.clear()  # its keys are line indices, now reused
            self._lines[-1] = line
        else:
            self._tail_count = 1
            self._lines.append(line)
            del self._lines[:-MAX_LOG_LINES]
        self._tail_kind = kind if kind in FOLDED_KINDS else None
        before = len(self.lines)
        self.write(line)
        self._tail_strips = len(self.lines) - before if self._size_known else 0

    def on_resize(self, event) -> None:
        # Runs before RichLog's own handler, which flushes the writes made before the
        # size was known; re-wrap only when a known width changes.
        previous, self._wrapped_at = self._wrapped_at, event.size.width
        if self._size_known and previous and event.size.width != previous and self._lines:
            self.clear()
            for line in self._lines:
                before = len(self.lines)
                self.write(line)
                self._tail_strips = len(self.lines) - before

    def forget(self) -> None:
        self._last = None

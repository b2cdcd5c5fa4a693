"""The main chart: a view of the run (tui.plot.views) drawn in braille by tui.plot.chart.

Loss, accuracy or MAD, gradient norm, lr, or on quadratic problems the excess loss with
the predicted rate; milestones and live edits as labelled markers; the previous run (the
one before a reset) as a dotted ghost; a cursor that reads every plotted value at a step.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.reactive import reactive
from textual.strip import Strip

from engine.live.snapshot import Snapshot
from tui.plot import chart
from tui.plot import series as S
from tui.plot import views as V
from tui.widgets.palette import TRAIN_COLOR, VAL_COLOR
from tui.widgets.strips import StripWidget

# Component classes: "main-chart--<role>" for each style role of tui.plot.views, plus
# the axis and the tick labels. A theme (or an app's CSS) restyles them.
ROLE_CLASSES = {role: f"main-chart--{role}" for role in (*V.ROLES, chart.AXIS, chart.LABEL)}
# Drawn dim (Textual blends the colour a third of the way to the background), so that with
# NO_COLOR, which strips the colours but keeps dim, the raw curves and the previous run
# still sit behind the others.
DIM_ROLES = {V.TRAIN_FAINT, V.VAL_FAINT, V.GHOST_TRAIN, V.GHOST_VAL}


class MainChart(StripWidget, can_focus=True):
    """The run's curves against step, one view at a time (`v` on the dashboard).

    Drawn through the Line API: the strips are rebuilt only when the snapshot, the
    options, the size or the styles change, and render_line hands back a cached Strip.
    The border title says what is drawn (view, scales, smoothing); the subtitle reads
    the values under the cursor (←/→ when focused, Home/End, Escape hides it).
    """

    DEFAULT_CSS = (
        """
    MainChart { width: 1fr; height: 1fr; border-subtitle-color: $foreground; }
    MainChart > .main-chart--axis { color: $foreground-muted; }
    MainChart > .main-chart--label { color: $foreground; }
    MainChart > .main-chart--train-faint { color: #3c78b4; }
    MainChart > .main-chart--val-faint { color: #b4703c; }
    MainChart > .main-chart--ghost-train { color: #a0b4c8; }
    MainChart > .main-chart--ghost-val { color: #c8b4a0; }
    MainChart > .main-chart--predicted { color: #e0e0e0; }
    MainChart > .main-chart--milestone { color: #5fd75f; }
    MainChart > .main-chart--best { color: #b0b0b0; }
    MainChart > .main-chart--edit { color: #d7af5f; }
    MainChart > .main-chart--cursor { color: #ffffff; }
    """
        + (  # the series colours, the same as the sparklines'
            f"MainChart > .main-chart--train {{ color: {TRAIN_COLOR}; }}\n"
            f"MainChart > .main-chart--val {{ color: {VAL_COLOR}; }}\n"
        )
    )
    COMPONENT_CLASSES = set(ROLE_CLASSES.values())

    BINDINGS = [
        Binding("left", "cursor(-1)", "cursor ←", show=False),
        Binding("right", "cursor(1)", "cursor →", show=False),
        Binding("shift+left", "cursor(-10)", show=False),
        Binding("shift+right", "cursor(10)", show=False),
        Binding("home", "cursor_end(0)", "first step", show=False),
        Binding("end", "cursor_end(1)", "last step", show=False),
        Binding("escape", "hide_cursor", "hide cursor", show=False),
    ]

    view: reactive[str] = reactive("loss", init=False)  # a train.view word
    log_scale: reactive[bool] = reactive(True, init=False)  # where the view lets l choose
    log_x: reactive[bool] = reactive(False, init=False)
    smoothing: reactive[float | None] = reactive(None, init=False)  # EMA weight, None: off
    cursor: reactive[float | None] = reactive(None, init=False)  # the step under it

    def __init__(self, view: str = "loss", **kwargs) -> None:
        super().__init__(**kwargs)
        self.set_reactive(MainChart.view, view)
        self.snapshot: Snapshot | None = None
        self.ghosts = V.GhostKeeper()
        self.picture = chart.Picture()
        self._built_for: tuple | None = None  # what self._strips were drawn from
        # (run or ghost, name): (steps, values, (xs, ys))
        self._finite_cache: dict[tuple[str, str], tuple] = {}

    @property
    def shown_view(self) -> V.View:
        return V.resolve(self.view, self.snapshot)

    @property
    def ghost(self) -> Snapshot | None:
        return self.ghosts.ghost

    def on_mount(self) -> None:
        self._update_titles()

    def draw(self, snap: Snapshot | None) -> None:
        """Show this snapshot (drawn at the next repaint); a step that went back (a reset)
        keeps the run before it as the ghost."""
        if snap is not self.snapshot:
            self.ghosts.observe(snap)
            self.snapshot = snap
            self._update_titles()
            self.refresh()

    # -- options -------------------------------------------------------------------

    def cycle_view(self) -> None:
        self.view = V.next_view(self.view, self.snapshot)

    def cycle_smoothing(self) -> None:
        i = V.SMOOTHINGS.index(self.smoothing) if self.smoothing in V.SMOOTHINGS else 0
        self.smoothing = V.SMOOTHINGS[(i + 1) % len(V.SMOOTHINGS)]

    def clear_ghost(self) -> bool:
        """Forget the previous run; False if there was none."""
        had = self.ghosts.ghost is not None
        self.ghosts.clear()
        self._changed()
        return had

    def _changed(self) -> None:
        self._update_titles()
        self.refresh()

    watch_view = watch_log_scale = watch_log_x = watch_smoothing = watch_cursor = _changed

    def action_cursor(self, columns: int) -> None:
        self._update_lines()  # the picture maps columns to steps
        steps = V.curve_steps(self.snapshot, self.shown_view, self._finite)
        self.cursor = V.move_cursor(steps, self.picture, self.cursor, columns)

    def action_cursor_end(self, last: int) -> None:
        steps = V.curve_steps(self.snapshot, self.shown_view, self._finite)
        if len(steps):
            self.cursor = float(steps[-1] if last else steps[0])

    def action_hide_cursor(self) -> None:
        self.cursor = None

    # -- drawing -------------------------------------------------------------------

    def _update_titles(self) -> None:
        view = self.shown_view
        log = view.log if view.log is not None else self.log_scale
        parts = [view.title, "log y" if log else "linear y"]
        if self.log_x:
            parts.append("log x")
        if self.smoothing:
            parts.append(f"EMA {self.smoothing:g}")
        title = " · ".join(parts)
        if self.border_title != title:
            self.border_title = title
        subtitle = ""
        if self.cursor is not None:
            subtitle = V.readout(
                self.snapshot, view, self.cursor, ghost=self.ghost, arrays=self._finite
            )
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def _styles(self) -> dict:
        base = self.rich_style
        styles: dict = {None: base}
        for role, component in ROLE_CLASSES.items():
            style = self.get_component_rich_style(component)
            if role in (chart.AXIS, chart.LABEL):
                styles[role] = style
            else:
                styles[role] = base + Style(color=style.color, dim=role in DIM_ROLES or None)
        return styles

    def _update_lines(self) -> None:
        """Rebuild the chart's strips if what they show has changed."""
        width, height = self.size
        styles = self._styles()
        snap, ghost = self.snapshot, self.ghost
        key = (
            snap,
            ghost,
            self.view,
            self.log_scale,
            self.log_x,
            self.smoothing,
            self.cursor,
            width,
            height,
            tuple(styles.values()),
        )
        if key == self._built_for:
            return
        view = self.shown_view
        layers = V.chart_layers(
            snap,
            view,
            max(1, width - 8),
            log=self.log_scale,
            smoothing=self.smoothing,
            ghost=ghost,
            arrays=self._finite,
        )
        picture = chart.render_chart(
            layers.traces,
            width,
            height,
            log=layers.log,
            log_x=self.log_x,
            y_range=layers.y_range,
            markers=layers.markers,
            cursor_x=self.cursor,
            cursor_style=V.CURSOR,
            legend=layers.legend,
            x_label="step",
            empty_message=f"no {view.title.split(' ')[0]} yet",
        )
        self._strips = [
            Strip([Segment(text, styles[style_key]) for text, style_key in row], width)
            for row in picture.rows
        ]
        self.picture, self._built_for = picture, key

    def _finite(self, snap: Snapshot, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A series' finite points as arrays, converted once per series and snapshot's
        tuples: a change of view or option, or a snapshot that kept them, reuses them."""
        ser = snap.get_series(name)
        key = ("ghost" if snap is self.ghost else "run", name)
        cached = self._finite_cache.get(key)
        if cached is not None and cached[0] is ser.steps and cached[1] is ser.values:
            return cached[2]
        arrays = S.finite_arrays(ser.steps, ser.values)
        self._finite_cache[key] = (ser.steps, ser.values, arrays)
        return arrays

"""The data view panel: the model's predictions over its data (tui/plot/dataview.py draws
them), from the snapshot's data_view, which the engine computes only while this is shown.

The panel never talks to the runner: the dashboard reads `resolution` (the grid that
fills the panel at its size) and asks the runner for it.
"""

from __future__ import annotations

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from engine.live.snapshot import Snapshot
from engine.training.dataview import CURVE, PLANE, SCATTER, TABLE, DataView
from tui.plot import dataview as D
from tui.widgets.strips import StripWidget

ROLE_CLASSES = {role: f"data-view--{role}" for role in (*D.ROLES, D.AXIS, D.LABEL)}

TITLES = {
    # short enough for " · step 50,000" after them at 80 columns
    PLANE: "data · predicted class",
    CURVE: "data · fit and points",
    TABLE: "data · pairs right/wrong",
    SCATTER: "data · pred. vs actual",
}


class DataViewPanel(StripWidget):
    """The data with the model's prediction over it, at the step in the border title."""

    DEFAULT_CSS = """
    DataViewPanel { width: 1fr; height: 1fr; }
    DataViewPanel > .data-view--axis { color: $foreground-muted; }
    DataViewPanel > .data-view--label { color: $foreground; }
    DataViewPanel > .data-view--train { color: #40a0ff; }
    DataViewPanel > .data-view--val { color: #ff8c28; }
    DataViewPanel > .data-view--fit { color: #f0f0f0; }
    DataViewPanel > .data-view--truth { color: #5fd75f; }
    DataViewPanel > .data-view--flipped { color: #ff5f5f; }
    """
    COMPONENT_CLASSES = set(ROLE_CLASSES.values())

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.view: DataView | None = None
        self.picture = D.DataPicture()
        self._built_for: tuple | None = None
        self._paints: dict[D.Paint, Style] = {}

    def on_mount(self) -> None:
        self._update_title()

    @property
    def resolution(self) -> tuple[int, int]:
        """The grid to ask the engine for, to fill the panel at its current size."""
        width, height = self.size
        return D.resolution_for(self.view.scene if self.view else None, width, height)

    def draw(self, snap: Snapshot | None) -> None:
        view = snap.data_view if snap is not None else None
        if view is not self.view:
            self.view = view
            self._update_title()
            self.refresh()

    def _update_title(self) -> None:
        view = self.view
        title = "data"
        if view is not None:
            title = f"{TITLES.get(view.kind, 'data')} · step {view.step:,}"
        if self.border_title != title:
            self.border_title = title

    def _styles(self) -> dict:
        base = self.rich_style
        return {
            role: base + Style(color=self.get_component_rich_style(component).color)
            for role, component in ROLE_CLASSES.items()
        } | {None: base}

    def _style(self, key, styles: dict) -> Style:
        if isinstance(key, D.Paint):
            style = self._paints.get(key)
            if style is None:
                fg = Color.from_rgb(*key.fg) if key.fg else None
                bg = Color.from_rgb(*key.bg) if key.bg else None
                style = self._paints[key] = styles[None] + Style(color=fg, bgcolor=bg)
            return style
        return styles.get(key, styles[None])

    def _update_lines(self) -> None:
        width, height = self.size
        styles = self._styles()
        color = not getattr(self.app, "no_color", False)
        key = (self.view, width, height, color, tuple(styles.values()))
        if key == self._built_for:
            return
        if len(self._paints) > 20000:  # a long run's many shades: start afresh
            self._paints.clear()
        picture = D.render_view(self.view, width, height, color=color)
        self._strips = [
            Strip([Segment(text, self._style(style, styles)) for text, style in row], width)
            for row in picture.rows
        ]
        self.picture, self._built_for = picture, key

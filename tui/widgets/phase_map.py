"""The phase diagram as a widget: tui.plot.heatmap's picture, with a cell cursor.

It draws a Diagram (engine/sweep/diagram.py, built from the rows the sweep published),
coloured by phase or by a numeric column, and knows nothing of the sweep's driver. Drawn
through the Line API; the strips are rebuilt only when what they show changes.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from engine.sweep.diagram import Diagram
from tui.plot import heatmap as H
from tui.widgets.palette import SWEEP_RGB, VALUE_SCALE_RGB
from tui.widgets.strips import StripWidget


def key_color(key: Hashable) -> Color | None:
    """The colour of a cell's key (a category, ("level", i) or the cursor)."""
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "level":
        rgb = VALUE_SCALE_RGB[int(key[1]) % len(VALUE_SCALE_RGB)]
    else:
        found = SWEEP_RGB.get(str(key)) if key is not None else None
        if found is None:
            return None
        rgb = found
    return Color.from_rgb(*rgb)


def key_style(key: Hashable | None) -> Style:
    """The style of a run of tui.plot.heatmap's picture or legend."""
    if isinstance(key, tuple):
        kind = key[0]
        if kind == "px":
            return Style(color=key_color(key[1]), bgcolor=key_color(key[2]))
        if kind == "glyph":
            return Style(color=key_color(key[1]), reverse=bool(key[2]) or None, bold=True)
        if kind == "swatch":
            return Style(color=key_color(key[1]))
    if key == H.SELECTED:
        return Style(reverse=True, bold=True)
    if key == H.LABEL:
        return Style(dim=True)
    return Style()


class PhaseMap(StripWidget):
    """The diagram, `column` None (by phase) or a sweep.csv column, and the cursor."""

    DEFAULT_CSS = "PhaseMap { width: 1fr; height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.diagram: Diagram | None = None
        self.column: str | None = None
        self.cursor: tuple[int, int] = (0, 0)
        self.picture = H.Picture()
        self._built_for: tuple | None = None

    @property
    def color(self) -> bool:
        return not getattr(self.app, "no_color", False)

    def show(self, diagram: Diagram, column: str | None, cursor: tuple[int, int]) -> None:
        if (diagram, column, cursor) != (self.diagram, self.column, self.cursor):
            self.diagram, self.column, self.cursor = diagram, column, cursor
            self.refresh()

    def _update_lines(self) -> None:
        width, height = self.size
        base = self.rich_style
        key = (self.diagram, self.column, self.cursor, width, height, self.color, base)
        if key == self._built_for:
            return
        self._built_for = key
        if self.diagram is None:
            self.picture, self._strips = H.Picture(), []
            return
        picture = H.render_heatmap(
            self.diagram, width, height, column=self.column, cursor=self.cursor,
            color=self.color,
        )  # fmt: skip
        self._strips = [
            Strip([Segment(text, base + key_style(k)) for text, k in row], width)
            for row in picture.rows
        ]
        self.picture = picture

"""A widget drawn as cached lines: built once per paint, served line by line."""

from __future__ import annotations

from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget


class StripWidget(Widget):
    """Subclasses fill `_strips` in `_update_lines`, which returns at once when nothing
    it draws from changed; Textual then asks for the lines one by one."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._strips: list[Strip] = []

    def _update_lines(self) -> None:
        raise NotImplementedError

    def render_lines(self, crop: Region) -> list[Strip]:
        self._update_lines()  # once per paint, not once per line
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)

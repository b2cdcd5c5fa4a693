"""Setting a Static's content without a needless layout pass."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


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

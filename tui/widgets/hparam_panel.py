"""The hyperparameters in force, live edits marked."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from engine.live.snapshot import Snapshot
from tui.format import format_value
from tui.widgets.content import set_content


def hparam_label(name: str) -> str:
    return name.replace("_", " ")  # weight_decay -> weight decay, lr_now -> lr now


def format_hparam(name: str, value: object) -> str:
    if name == "batch_size" and value == 0:
        return "full"  # the engine's word for a batch of the whole training set
    return format_value(value)


class HParamPanel(Static):
    """The snapshot's hyperparameters, in its order (the engine chooses which ones an
    optimizer shows); values edited live are highlighted, pending ones arrowed. Inline
    (on a short screen), they run on as "name value" pairs, as many a line as fit."""

    inline = False  # set by the dashboard from the screen's height
    _shown: tuple[Snapshot, dict[str, object]] | None = None

    def set_inline(self, inline: bool) -> None:
        if inline != self.inline:
            self.inline = inline
            self._redraw()

    def on_resize(self) -> None:
        if self.inline:  # the pairs are packed to the width (after the resize: a layout
            self.call_later(self._redraw)  # asked for while resizing is not done)

    def _redraw(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, snap: Snapshot, pending: dict[str, object]) -> None:
        self._shown = (snap, dict(pending))
        pairs = []
        for name, value in snap.hparams:
            edited = name in snap.edited
            label = hparam_label(name)
            parts: list[str | tuple[str, str]] = [
                ("●" if edited else " ", "bold $text-warning" if edited else ""),
                (f"{label} " if self.inline else f"{label:<13}", "$foreground-muted"),
                (format_hparam(name, value), "bold $text-warning" if edited else "bold"),
            ]
            if name in pending:
                parts.append((f" → {format_hparam(name, pending[name])}", "italic $text-accent"))
            pairs.append(Content.assemble(*parts))
        if not self.inline:
            set_content(self, Content("\n").join(pairs), layout=False)
            return
        # Packed by hand: wrapped text would break a pair ("batch size" | "full").
        width, lines, line = max(1, self.size.width), [], Content("")
        for pair in pairs:
            joined = Content.assemble(line, " ", pair) if line.plain else pair
            if line.plain and joined.cell_length > width:
                lines.append(line)
                joined = pair
            line = joined
        lines.append(line)
        set_content(self, Content("\n").join(lines))

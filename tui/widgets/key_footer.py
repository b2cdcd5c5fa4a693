"""A footer that fits its width: the most important keys first, the rest if room is left.

Textual's Footer shows every binding in one line and cuts what does not fit, so at 80
columns the dashboard lost Quit and Help. KeyFooter picks the bindings to show by the
screen's FOOTER_PRIORITY (groups of keys, most important first; the bindings it does not
name come after, in their order), keeps each only if the line still fits, and draws the
chosen ones in the screen's own order. `?` (help) lists every key, shown or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup

Entry = tuple[Binding, bool, str]  # a binding, whether it is enabled, its tooltip


def _runs(entries: Sequence[Entry]) -> list[list[Entry]]:
    """Consecutive entries of one group (drawn as one "keys label" item), else single."""
    runs: list[list[Entry]] = []
    for group, items in groupby(entries, lambda e: e[0].group):
        items = list(items)
        if group is not None and len(items) > 1:
            runs.append(items)
        else:
            runs.extend([item] for item in items)
    return runs


class KeyFooter(Footer):
    """A compact Footer that shows what fits, chosen by the screen's FOOTER_PRIORITY."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("compact", True)
        super().__init__(**kwargs)
        self.hidden_keys: list[str] = []  # what the last compose left out

    def _width(self, entries: Sequence[Entry]) -> int:
        """Cells the compact footer takes for these entries (group: " keys label ",
        single: "key label ")."""
        total = 0
        for run in _runs(entries):
            keys = sum(len(self.app.get_key_display(b)) for b, _, _ in run)
            if len(run) > 1:
                group = run[0][0].group
                total += 1 + keys + 1 + len(group.description if group else "") + 1
            else:
                total += keys + 1 + len(run[0][0].description) + 1
        return total

    def _choose(self, entries: list[Entry], width: int) -> list[Entry]:
        priority: Sequence[Sequence[str]] = getattr(self.screen, "FOOTER_PRIORITY", ())
        named = {key for unit in priority for key in unit}
        units = [[e for e in entries if e[0].key in unit] for unit in priority]
        units += [[e] for e in entries if e[0].key not in named]
        chosen: set[int] = set()
        for unit in units:
            trial = chosen | {id(e) for e in unit}
            if self._width([e for e in entries if id(e) in trial]) <= width:
                chosen = trial
        return [e for e in entries if id(e) in chosen]

    def compose(self):
        if not self._bindings_ready:
            return
        active = self.screen.active_bindings
        first: dict[str, Entry] = {}  # one key per action, as Footer shows them
        for _, binding, enabled, tooltip in active.values():
            if binding.show:
                first.setdefault(binding.action, (binding, enabled, tooltip))
        entries = list(first.values())
        width = self.size.width or self.app.size.width
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if palette is not None:
            # docked right, and the last to come: only when every key fits beside it
            _, pb, _, _ = palette
            need = 1 + len(self.app.get_key_display(pb)) + 1 + len(pb.description) + 1
            if self._width(entries) + need > width:
                palette = None
        shown = self._choose(entries, width)
        self.hidden_keys = [e[0].key for e in entries if e not in shown]
        for run in _runs(shown):
            if len(run) > 1:
                group = run[0][0].group
                with KeyGroup(classes="-compact" if group and group.compact else ""):
                    for binding, enabled, tooltip in run:
                        yield FooterKey(
                            binding.key,
                            self.app.get_key_display(binding),
                            "",
                            binding.action,
                            disabled=not enabled,
                            tooltip=tooltip or binding.description,
                            classes="-grouped",
                        ).data_bind(compact=Footer.compact)
                yield FooterLabel(group.description if group else "")
            else:
                binding, enabled, tooltip = run[0]
                yield FooterKey(
                    binding.key,
                    self.app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    disabled=not enabled,
                    tooltip=tooltip,
                ).data_bind(compact=Footer.compact)
        if palette is not None:
            _, binding, enabled, tooltip = palette
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def on_resize(self, event) -> None:
        if event.size.width != getattr(self, "_composed_width", None):
            self._composed_width = event.size.width
            if self._bindings_ready:
                self.call_after_refresh(self.recompose)

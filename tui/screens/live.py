"""LiveScreen: a screen whose keys and timers act only while it is really there.

Switching screens makes the new one current before its widgets are mounted, and removes
the old one (its widgets first) a moment later. A key pressed, a palette command run or
a timer fired in either window found no widgets (NoMatches) and took the app down. A
LiveScreen refuses every action in those windows, and its timers check `live` first.
"""

from __future__ import annotations

from textual.screen import Screen

# Safe at any moment: they touch no widget of the screen.
ALWAYS_ALLOWED = frozenset({"quit"})


class LiveScreen(Screen[None]):
    """A Screen that knows whether its widgets are there to be queried."""

    @property
    def leaving(self) -> bool:
        """Off the app's screen stack (a switch takes the old screen off it before
        removing it) or being removed."""
        return self._closing or self._closed or self._pruning or self not in self.app.screen_stack

    @property
    def live(self) -> bool:
        """Mounted (every on_mount handler has run) and not leaving."""
        return self.is_mounted and not self.leaving

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.live or action in ALWAYS_ALLOWED

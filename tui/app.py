"""GroklabApp: the picker, the dashboard of the chosen run, and the command palette.

    GroklabApp(runner_factory, preset=None, presets=None, output_dir=None).run()

runner_factory(cfg) returns an unstarted engine.live.runner.Runner (or anything else that
implements engine.live.control.RunControl); the app starts it, polls it, and stops it
when the user goes back to the picker or quits. With `preset` (a RunConfig, or a bundled
preset's name) the app opens straight on its dashboard; without it, on the picker.
`presets` replaces the bundled preset list (a sequence, or a callable returning one, of
RunConfigs or PresetEntry).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from textual.app import App
from textual.notifications import SeverityLevel
from textual.screen import Screen

from engine.live.control import RunControl
from tui.commands import GroklabCommands, GroklabPalette
from tui.format import printable
from tui.screens.dashboard import (
    POLL_INTERVAL,
    REDRAW_INTERVAL,
    DashboardScreen,
    default_output_dir,
)
from tui.screens.host import PresetEntry, PresetSource, bundled_presets, to_entries
from tui.screens.picker import PickerScreen

if TYPE_CHECKING:
    from engine.live.runner import Runner

RunnerFactory = Callable[[Any], RunControl]


def build_runner(cfg: Any, **runner_options: Any) -> Runner:
    """The real engine's runner, unstarted. Building it reads the data (a bad CSV raises
    here, and the app shows why) but loads no kernels: its thread does that while the
    dashboard says `compiling`, so the UI thread never waits for numba. It trains at the
    preset's watch pace (train.pace) unless `pace` says otherwise (0: full speed)."""
    from engine.live.runner import Runner

    runner_options.setdefault("pace", cfg.train.pace)
    return Runner(cfg, **runner_options)


default_runner_factory = build_runner


class GroklabApp(App[None]):
    """The groklab terminal dashboard."""

    CSS_PATH = Path(__file__).with_name("groklab.tcss")  # absolute: subclasses elsewhere find it
    TITLE = "groklab"
    COMMANDS = App.COMMANDS | {GroklabCommands}

    def __init__(
        self,
        runner_factory: RunnerFactory | None = None,
        preset: Any = None,
        *,
        presets: PresetSource | None = None,
        output_dir: str | Path | None = None,
        poll_interval: float = POLL_INTERVAL,
        redraw_interval: float = REDRAW_INTERVAL,
    ) -> None:
        super().__init__()
        self.runner_factory = runner_factory or default_runner_factory
        if isinstance(preset, str):
            from engine.config import load_config

            preset = load_config(preset)  # a ConfigError surfaces before the UI starts
        self.initial_preset = preset
        self._presets_source = presets
        self._entries: list[PresetEntry] | None = None
        # What e and s write (and a crash's traceback): --out, else ./groklab-exports.
        self.output_dir = Path(output_dir) if output_dir is not None else default_output_dir()
        self.poll_interval = poll_interval  # the dashboard's timers (tests make them short)
        self.redraw_interval = redraw_interval
        self.runner: RunControl | None = None
        self.crash: BaseException | None = None  # the unexpected error that ended the app

    def _handle_exception(self, error: Exception) -> None:
        # Textual prints the traceback and exits with return_code 1; the command line
        # adds the one-line message and keeps the status (tui/cli/main.py).
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Every notification is plain text, whatever `markup` asks: they quote preset
        names, paths and error messages, whose brackets are not markup."""
        super().notify(
            printable(message, newlines=True),
            title=printable(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def action_command_palette(self) -> None:
        """App.action_command_palette, opening the palette that survives fast keys."""
        if self.use_command_palette and not GroklabPalette.is_open(cast(Any, self)):
            self.push_screen(GroklabPalette(id="--command-palette"))

    def search_themes(self) -> None:
        """App.search_themes (the palette's "Change theme"), in the palette that survives
        fast keys."""
        from textual.theme import ThemeProvider

        self.push_screen(
            GroklabPalette(providers=[ThemeProvider], placeholder="Search for themes…")
        )

    # -- presets -------------------------------------------------------------------

    def preset_entries(self) -> list[PresetEntry]:
        """The presets offered by the picker and the palette (loaded once)."""
        if self._entries is None:
            source = self._presets_source
            if source is None:
                self._entries = bundled_presets()
            else:
                self._entries = to_entries(source() if callable(source) else source)
        return self._entries

    # -- screens -------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.initial_preset is not None:
            self.start_run(self.initial_preset)
        else:
            self.push_screen(PickerScreen(self.preset_entries()))

    def start_entry(self, entry: PresetEntry) -> None:
        if entry.config is None:
            self.notify(
                entry.error or "cannot be loaded",
                title=f"{entry.name} cannot start",
                severity="error",
            )
            return
        self.start_run(entry.config)

    def start_run(self, cfg: Any) -> None:
        """Stop the current run (if any), start `cfg` and show its dashboard."""
        self._stop_in_background()
        try:
            runner = self.runner_factory(cfg)
            runner.start()
        except Exception as exc:  # a bad config or a runner that cannot start
            self.notify(
                f"{type(exc).__name__}: {exc}",
                title=f"Cannot start {cfg.name}",
                severity="error",
                timeout=10,
            )
            if len(self.screen_stack) <= 1:
                self.push_screen(PickerScreen(self.preset_entries()))
            return
        self.runner = runner
        screen = DashboardScreen(
            runner,
            output_dir=self.output_dir,
            poll_interval=self.poll_interval,
            redraw_interval=self.redraw_interval,
        )
        self._show_only(screen)

    def show_picker(self) -> None:
        """Stop the run and go back to the preset list."""
        self._stop_in_background()
        self._show_only(PickerScreen(self.preset_entries()))

    def _show_only(self, screen: Screen) -> None:
        """`screen` as the one screen over the app's base: what was above the old one
        (help, the command palette, an error) goes with it, or a switch made from there
        would leave the old dashboard, and its run, stacked underneath."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) <= 1:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    # -- stopping ------------------------------------------------------------------

    def _stop_in_background(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            held = [runner]

            def stop() -> None:
                # Let go of the runner once stopped: the finished worker lingers (in a
                # context variable) and kept a whole old run alive with it.
                held.pop().stop()

            # stop() joins the training thread (up to its timeout): not on the UI thread.
            self.run_worker(
                stop,
                thread=True,
                exit_on_error=False,
                group="stop",
                name="stop runner",
            )

    def stop_runner(self) -> None:
        """Stop the current run and wait for it (quitting: its files must be flushed)."""
        runner, self.runner = self.runner, None
        if runner is not None:
            runner.stop()

    async def action_quit(self) -> None:
        self.stop_runner()
        self.exit()

    def on_unmount(self) -> None:
        self.stop_runner()  # ctrl+c or an exception: the thread must not outlive the UI

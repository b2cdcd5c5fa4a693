"""The dashboard under fire: keys and timers while screens mount and unmount, a long
random key sequence with preset switches and resizes, exit status after a crash, and old
runs released after a switch."""

from __future__ import annotations

import gc
import random
import weakref
from functools import partial

import pytest
from fakes import Factory, FakeRunner, LabApp, drive, make_config, wait_for
from textual.binding import Binding
from textual.command import CommandList, CommandPalette

from engine.vocabulary import RunState
from tui.app import GroklabApp
from tui.cli.main import EXIT_BUG, _run_app
from tui.screens.dashboard import DashboardScreen
from tui.screens.help import ErrorScreen, HelpScreen
from tui.screens.picker import PickerScreen
from tui.widgets import HParamPanel, MainChart


def on_dashboard(presets, **options):
    factory = Factory(**options)
    return LabApp(factory, presets[0], presets=presets), factory


async def until_drawn(pilot):
    app = pilot.app
    await wait_for(pilot, lambda: getattr(app.screen, "snapshot", None) is not None)


# -- the races: one quick test each ----------------------------------------------------


def test_keys_on_a_dashboard_not_mounted_yet_do_nothing(presets):
    """start_run makes the new dashboard current before its widgets exist: a key then
    used to query them (NoMatches)."""
    app, factory = on_dashboard(presets, prefill=10, start_paused=True)

    async def scenario(pilot):
        await until_drawn(pilot)
        app.start_run(presets[1])
        fresh = app.screen
        assert isinstance(fresh, DashboardScreen) and not fresh.is_mounted
        for action in ("resume", "step", "lr_up", "reset", "test", "toggle_chart"):
            assert await app.run_action(action, fresh) is False
        assert factory.runner.calls == [("start", ())]  # nothing reached the new runner
        await until_drawn(pilot)  # and it comes up as usual
        assert await app.run_action("step", app.screen)

    drive(app, scenario)


def test_edits_and_redraws_of_a_dashboard_being_removed_do_nothing(presets):
    """Switching away removes the old dashboard's widgets before the screen itself: an
    edit (HParamPanel) or a poll's redraw (MainChart) in between used to fail."""
    app, factory = on_dashboard(presets, prefill=10, start_paused=True)

    async def scenario(pilot):
        await until_drawn(pilot)
        old, runner = app.screen, factory.runner
        assert isinstance(old, DashboardScreen)
        app.show_picker()
        for widget in [*old.query(HParamPanel), *old.query(MainChart)]:
            await widget.remove()  # where the removal is when the key or timer comes
        polls = runner.polls
        old._poll()
        old._draw_chart()
        assert await app.run_action("lr_up", old) is False
        assert runner.polls == polls and runner.called("set") == []

    drive(app, scenario)


@pytest.mark.slow  # a Pilot run of about a second
def test_keys_on_a_picker_not_mounted_yet_do_nothing(presets):
    app, _ = on_dashboard(presets, prefill=10, start_paused=True)

    async def scenario(pilot):
        await until_drawn(pilot)
        app.show_picker()
        assert isinstance(app.screen, PickerScreen) and not app.screen.is_mounted
        assert await app.run_action("cursor(1)", app.screen) is False
        assert await app.run_action("start", app.screen) is False
        assert len(app.screen_stack) == 2

    drive(app, scenario)


@pytest.mark.slow  # a Pilot run of about a second
def test_page_keys_in_an_empty_command_palette_do_nothing(presets):
    """Textual's palette raised KeyError on page down with no command listed."""
    app, _ = on_dashboard(presets, prefill=10, start_paused=True)

    async def scenario(pilot):
        await until_drawn(pilot)
        app.action_command_palette()
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await wait_for(pilot, lambda: app.screen.is_mounted)
        app.screen.query_one(CommandList).clear_options()
        assert await app.run_action("command_list('page_down')", app.screen)
        assert await app.run_action("command_list('page_up')", app.screen)

    drive(app, scenario)


# -- an unexpected error ------------------------------------------------------------------


class Broken(GroklabApp):
    def on_mount(self) -> None:
        raise RuntimeError("boom [/bold]")


def test_an_unexpected_error_exits_non_zero_with_its_message(capsys, monkeypatch):
    app = Broken(FakeRunner, make_config())
    monkeypatch.setattr(app, "run", partial(app.run, headless=True, size=(80, 24)))  # no tty
    assert _run_app(app) == EXIT_BUG
    err = capsys.readouterr().err
    assert err.rstrip().endswith(
        "groklab: the dashboard stopped on an unexpected error: RuntimeError: boom [/bold]"
    )


# -- memory -----------------------------------------------------------------------------


class WeakFactory:
    """runner_factory keeping only weak references (Factory keeps every runner)."""

    def __init__(self, **options) -> None:
        self.options = options
        self.refs: list[weakref.ref] = []

    def __call__(self, cfg) -> FakeRunner:
        runner = FakeRunner(cfg, **self.options)
        self.refs.append(weakref.ref(runner))
        return runner


@pytest.mark.slow  # a second of switches
def test_a_switch_releases_the_previous_run(presets):
    # The run compiles for a few polls, as a real one does: the old dashboard is gone
    # by the time the new run freezes the heap, and must not be frozen with it.
    factory = WeakFactory(prefill=10, compile_polls=8)
    app = LabApp(factory, presets[0], presets=presets)

    async def scenario(pilot):
        for i in range(4):
            await wait_for(
                pilot,
                lambda: (
                    app.runner is not None
                    and app.runner.snapshot().state == RunState.RUNNING
                    and gc.get_freeze_count() > 0
                ),
                what="the run frozen in",
            )
            gc.collect()
            alive = [r for r in factory.refs[:-1] if r() is not None]
            assert not alive, f"switch {i}: {len(alive)} old runners alive"
            app.start_run(presets[(i + 1) % len(presets)])

    try:
        drive(app, scenario)
    finally:
        gc.unfreeze()


@pytest.mark.slow  # seconds of switches
def test_a_switch_made_over_help_or_the_palette_leaves_one_screen(presets):
    """A switch replaced only the top screen: started over the help screen, the command
    palette or an error, it left the old dashboard and its run stacked underneath (a key
    soak piled up 18 screens and 15 old runs, 67 -> 417 MB)."""
    factory = WeakFactory(prefill=10)
    app = LabApp(factory, presets[0], presets=presets)

    async def scenario(pilot):
        for i, over in enumerate(("question_mark", "ctrl+p", "question_mark")):
            await until_drawn(pilot)
            await pilot.press(over)
            await wait_for(pilot, lambda: not isinstance(app.screen, DashboardScreen))
            app.start_run(presets[(i + 1) % len(presets)])
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            assert len(app.screen_stack) == 2, [type(s).__name__ for s in app.screen_stack]
        await pilot.pause(0.2)
        gc.collect()
        alive = [r for r in factory.refs[:-1] if r() is not None]
        assert not alive, f"{len(alive)} old runners alive"

    drive(app, scenario)


# -- key-mashing ------------------------------------------------------------------------

DASHBOARD_KEYS = [
    "space", "n", "r", "plus", "minus", "w", "W", "b", "B", "t", "e", "s", "c", "l", "m",
    "v", "x", "g", "d", "f", "less_than_sign", "greater_than_sign", "left", "right",
    "question_mark", "escape",
]  # fmt: skip
PICKER_KEYS = ["down", "up", "pagedown", "pageup", "enter", "escape", "f1", "o", "y"]
RARE = {"e": 0.1, "s": 0.1, "ctrl+p": 0.2, "p": 0.5}
SIZES = [(120, 40), (80, 24), (50, 15), (100, 30), (200, 60), (30, 10)]


@pytest.mark.slow  # a few thousand keys
def test_thousands_of_random_keys_with_switches_and_resizes(presets, tmp_path):
    rng = random.Random(0)
    factory = Factory(prefill=20, chunk=5)
    app = LabApp(factory, presets[0], presets=presets, output_dir=tmp_path)
    keys = DASHBOARD_KEYS + PICKER_KEYS + ["p", "ctrl+p"]
    # Every key, the costly ones (a file written, a palette search per key) less often.
    weights = [RARE.get(key, 1.0) for key in keys]

    async def scenario(pilot):
        for i in range(2000):
            roll = rng.random()
            if roll < 0.01:
                await pilot.resize_terminal(*rng.choice(SIZES))
            elif roll < 0.03:
                app.start_run(rng.choice(presets))  # a palette pick
            else:
                (key,) = rng.choices(keys, weights)
                char = key if len(key) == 1 else {"space": " ", "plus": "+", "minus": "-"}.get(key)
                app.post_message(_key(key, char))
            if i % 3 == 0:
                await pilot.pause(0)
        for _ in range(4):  # close whatever modal is open
            if isinstance(app.screen, (HelpScreen, CommandPalette, ErrorScreen)):
                app.screen.dismiss(None)
            await pilot.pause(0.05)
        await wait_for(
            pilot, lambda: isinstance(app.screen, (DashboardScreen, PickerScreen)), what="a screen"
        )
        screen = app.screen
        if isinstance(screen, DashboardScreen):
            await until_drawn(pilot)
            assert app.runner is screen.runner
            RunState(screen.runner.snapshot().state)  # a valid state, or ValueError
        assert app.crash is None and app.is_running
        assert len(factory.runners) > 10  # the sequence did switch presets

    drive(app, scenario)


def _key(key, char):
    from textual import events

    return events.Key(key, char)


def test_the_key_lists_cover_every_binding():
    bindings = [*DashboardScreen.BINDINGS, *PickerScreen.BINDINGS]
    bound = {b.key for b in bindings if isinstance(b, Binding)}
    pressed = set(DASHBOARD_KEYS + PICKER_KEYS) | {"p", "ctrl+p"}
    assert bound - pressed <= {"q", "ctrl+q"}  # quitting ends the test

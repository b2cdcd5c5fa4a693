"""The live dashboard of one run: polls the runner, draws the snapshot, sends commands.

The screen talks to the engine only through RunControl (engine.live.control):
`snapshot()` on a timer (lock-free, never blocks) and commands (pause, step, set, ...)
that the runner queues and applies between chunks. Each poll arms the next one when it
has finished, so polls can never pile up behind a slow render, and an unchanged
snapshot.version skips the redraw altogether.
"""

from __future__ import annotations

import gc
import itertools
import math
import time
from collections import deque
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.worker import Worker, WorkerState

from engine.errors import ConfigError
from engine.live.control import RunControl
from engine.live.snapshot import Snapshot
from engine.store.files import safe_file_stem
from engine.training.hparams import (
    DEFAULT_WEIGHT_DECAY,
    WEIGHT_DECAY_OFF_BELOW,
    doubled_batch,
    doubled_decay,
    halved_batch,
    halved_decay,
)
from engine.vocabulary import RunState
from tui.screens.help import ErrorScreen, HelpScreen, key_rows
from tui.screens.host import RunHost
from tui.screens.live import LiveScreen
from tui.widgets import (
    DataViewPanel,
    EventLog,
    HParamPanel,
    MainChart,
    MetricRow,
    RunHeader,
    StatusPanel,
)
from tui.widgets.header import pace_text
from tui.widgets.key_footer import KeyFooter
from tui.widgets.palette import SERIES_GLYPHS, TRAIN_COLOR, VAL_COLOR

POLL_INTERVAL = 1 / 15  # seconds between the end of one poll and the start of the next
# A poll redraws a new snapshot at most this often while the run's state is unchanged. A
# full redraw costs about 30 ms of Python at 120x40, and the snapshots come at 10 Hz:
# drawn each time, the UI took a third of a core and the GIL from the training thread
# (W2 ran at 62-70% of its headless speed). A state change, and every key, draws at once.
REDRAW_INTERVAL = 0.2
# The loss chart costs a few ms to redraw (tui/plot/chart.py), so it follows every new
# snapshot, but at most once per poll: a snapshot marks it due and the poll draws it.

# Screen-size thresholds (cells) for the layout classes (tui/groklab.tcss draws them).
CHART_MIN_WIDTH, CHART_MIN_HEIGHT = 80, 20  # below either: the chart waits for `c`
SHORT_HEIGHT = 30  # below: no event log (the chart's markers show the events)
INLINE_HEIGHT = 45  # below: the hyperparameters as packed pairs, leaving the status room
WIDE_WIDTH = 160  # from here: a wider side column, and the data view (d) beside the chart
NARROW_WIDTH = 100  # below: a narrower side column
SLIM_WIDTH = 80  # below: narrower still
TINY_WIDTH, TINY_HEIGHT = 60, 18  # below either: only metrics and status, no borders

_LR = Binding.Group("lr", compact=True)
_WD = Binding.Group("wd", compact=True)
_BATCH = Binding.Group("batch", compact=True)
_VIEW = Binding.Group("view", compact=True)
_PACE = Binding.Group("pace", compact=True)
# The pace keys stay within these (steps per second); f from a full-speed preset goes to a
# pace that shows its whole run in about FULL_RUN_S.
MIN_PACE, MAX_PACE = 0.25, 1e7
FULL_RUN_S = 20.0


EXPORTS_DIR = "groklab-exports"  # under the cwd: where e, s and tracebacks go without --out


def default_output_dir() -> Path:
    return Path.cwd() / EXPORTS_DIR


def _same(a: object, b: object) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0) or a == b
    return a == b


class DashboardScreen(LiveScreen):
    """One run: header, sparklines, loss chart, status, hyperparameters, events."""

    BINDINGS = [
        Binding(
            "space", "pause", "Pause", id="pause", tooltip="Pause training (applied between chunks)"
        ),
        Binding("space", "resume", "Resume", id="resume", tooltip="Resume training"),
        Binding(
            "n",
            "step",
            "Step",
            id="step",
            tooltip="Run exactly one training step (pauses a running run first)",
        ),
        Binding(
            "r",
            "reset",
            "Reset",
            id="reset",
            tooltip="Back to step 0, fresh parameters, same seed, edits kept: a running run "
            "goes on running, any other waits paused at step 0 (space starts it)",
        ),
        Binding(
            "less_than_sign",
            "pace_down",
            "pace÷2",
            id="pace-down",
            group=_PACE,
            tooltip="Halve the pace (steps per second; from full speed: half the speed)",
        ),
        Binding(
            "greater_than_sign",
            "pace_up",
            "pace×2",
            id="pace-up",
            group=_PACE,
            tooltip="Double the pace (steps per second)",
        ),
        Binding(
            "f",
            "toggle_full_speed",
            "full",
            id="full-speed",
            group=_PACE,
            tooltip="Full speed, or back to the pace (the preset's train.pace)",
        ),
        Binding("plus", "lr_up", "lr×2", id="lr-up", group=_LR, tooltip="Double the learning rate"),
        Binding(
            "minus", "lr_down", "lr÷2", id="lr-down", group=_LR, tooltip="Halve the learning rate"
        ),
        Binding(
            "w",
            "wd_up",
            "decay×2",
            id="wd-up",
            group=_WD,
            tooltip=f"Double the weight decay (0 becomes {DEFAULT_WEIGHT_DECAY:g})",
        ),
        Binding(
            "W",
            "wd_down",
            "decay÷2",
            id="wd-down",
            group=_WD,
            tooltip=f"Halve the weight decay (below {WEIGHT_DECAY_OFF_BELOW:g}: off)",
        ),
        Binding(
            "b",
            "batch_up",
            "batch×2",
            id="batch-up",
            group=_BATCH,
            tooltip="Double the batch size (reaching the training set: full batch)",
        ),
        Binding(
            "B",
            "batch_down",
            "batch÷2",
            id="batch-down",
            group=_BATCH,
            tooltip="Halve the batch size (full batch: largest power of two below it)",
        ),
        Binding(
            "t",
            "test",
            "Test",
            id="test",
            tooltip="Evaluate the test set once, now (the log says so)",
        ),
        Binding("question_mark", "help", "Help", id="help", tooltip="List every key"),
        Binding("q", "quit", "Quit", id="quit", tooltip="Stop the run and quit"),
        Binding("e", "export", "CSV", id="export", tooltip="Export the metrics to a CSV file now"),
        Binding(
            "s",
            "screenshot",
            "SVG",
            id="screenshot",
            tooltip="Save an SVG screenshot of the dashboard",
        ),
        Binding(
            "c",
            "toggle_chart",
            "chart",
            id="toggle-chart",
            group=_VIEW,
            tooltip="Show or hide the chart",
        ),
        Binding(
            "l",
            "toggle_log",
            "log",
            id="toggle-log",
            group=_VIEW,
            tooltip="Chart y axis: log or linear scale",
        ),
        Binding(
            "x",
            "toggle_log_x",
            "log x",
            id="toggle-log-x",
            group=_VIEW,
            tooltip="Chart x axis: log or linear steps (early and late dynamics both show)",
        ),
        Binding(
            "v",
            "cycle_view",
            "view",
            id="cycle-view",
            group=_VIEW,
            tooltip="Chart view: loss, accuracy or MAD, gradient norm, lr (and the guarantee)",
        ),
        Binding(
            "d",
            "toggle_data",
            "data",
            id="toggle-data",
            group=_VIEW,
            tooltip="Data view: the model's prediction over its data (replaces the chart, "
            "or beside it on wide terminals)",
        ),
        Binding(
            "g",
            "clear_ghost",
            "ghost",
            id="clear-ghost",
            group=_VIEW,
            tooltip="Clear the previous run's curves (drawn dotted after a reset)",
        ),
        Binding(
            "m",
            "cycle_smoothing",
            "EMA",
            id="cycle-smoothing",
            group=_VIEW,
            tooltip="Chart smoothing (debiased EMA): off, 0.6, 0.9, 0.99; raw curve stays faint",
        ),
        Binding(
            "p",
            "presets",
            "Presets",
            id="presets",
            tooltip="Stop this run and go back to the preset picker",
        ),
    ]

    # What the footer keeps when it cannot show every key (tui/widgets/key_footer.py):
    # groups of keys, most important first; `?` lists them all.
    FOOTER_PRIORITY = (
        ("space",),
        ("q",),
        ("question_mark",),
        ("n",),
        ("r",),
        ("plus", "minus"),
        ("v",),
        ("d",),
        ("less_than_sign", "greater_than_sign"),
        ("f",),
        ("t",),
        ("w", "W"),
        ("b", "B"),
        ("c",),
        ("e",),
        ("s",),
        ("p",),
    )

    chart_wanted: reactive[bool | None] = reactive(None, init=False)  # None = by size
    data_wanted: reactive[bool] = reactive(False, init=False)

    def __init__(
        self,
        runner: RunControl,
        *,
        output_dir: Path | None = None,
        poll_interval: float = POLL_INTERVAL,
        redraw_interval: float = REDRAW_INTERVAL,
    ) -> None:
        super().__init__()
        self.runner = runner
        self.output_dir = Path(output_dir) if output_dir is not None else default_output_dir()
        self._names_given: set[Path] = set()
        self.poll_interval = poll_interval
        self.redraw_interval = redraw_interval
        self.snapshot: Snapshot | None = None
        self.pending: dict[str, object] = {}  # edits sent, not yet in a snapshot
        self.pace_sent: float | None = None  # a pace sent, not yet in a snapshot
        self._paced_at: float | None = None  # the pace f goes back to from full speed
        self._version: int | None = None
        self._state: RunState | None = None
        self._task_kind: str | None = None
        self._error_shown = False
        self._chart_due = False  # the chart lags the latest snapshot
        self._drawn_at = -math.inf  # time.monotonic() of the last snapshot drawn
        self._stopping_polls = False
        self._heap_frozen = False
        self._chart_fits = True  # the screen is big enough to show the chart by default
        self._data_resolution: tuple[int, int] | None = None  # what the runner was asked
        self.poll_starts: deque[float] = deque(maxlen=4096)  # for `groklab bench --dashboard`
        self._poll_due = -math.inf  # time.monotonic() the running or next poll is due at

    # -- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        with Vertical(id="body"):
            with Vertical(id="metrics") as metrics:
                # the legend: train and val differ in glyph as well as colour (NO_COLOR)
                train, val = SERIES_GLYPHS["train"][-1], SERIES_GLYPHS["val"][-1]
                metrics.border_title = (
                    f"metrics [{TRAIN_COLOR}]{train}[/] train [{VAL_COLOR}]{val}[/] val"
                )
                yield MetricRow("train_loss", "train loss", log10=True, id="m-train-loss")
                yield MetricRow("val_loss", "val loss", log10=True, id="m-val-loss")
                yield MetricRow("train_acc", "train acc", id="m-train-2")
                yield MetricRow("val_acc", "val acc", id="m-val-2")
                yield MetricRow("step_grad_norm", "grad norm", log10=True, id="m-grad-norm")
                yield MetricRow("lr", "lr", id="m-lr")
            with Horizontal(id="main"):
                yield MainChart(view=self.runner.config.train.view, id="chart")
                data = DataViewPanel(id="data")
                data.display = False  # until d asks for it
                yield data
                with Vertical(id="side"):
                    status = StatusPanel(id="status")
                    status.border_title = "status"
                    yield status
                    hparams = HParamPanel(id="hparams")
                    hparams.border_title = "hyperparameters"
                    yield hparams
                    events = EventLog(id="events")
                    events.border_title = "events"
                    yield events
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.leaving:  # the app quit (or switched on) before the screen was up
            return
        self._apply_size(self.size.width, self.size.height)
        self._poll()

    def on_unmount(self) -> None:
        self._stopping_polls = True
        if self._heap_frozen:
            gc.unfreeze()  # the next run's objects are collected as usual

    def _freeze_heap(self) -> None:
        """Move every object alive now (numba's compiled kernels, Textual's app: about
        175,000) out of the garbage collector's reach. A full collection walks them all,
        which took ~100 ms of the UI thread every few seconds once the live redraws
        allocate steadily; what is allocated afterwards is collected as before."""
        if not self._heap_frozen:
            self._heap_frozen = True
            # Frozen garbage is never collected: what an earlier freeze left behind (the
            # last run's screen, runner and snapshots) is collected first.
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    def on_resize(self, event) -> None:
        if self.live:  # before on_mount, on_mount applies it; while removed, nothing
            self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        self.set_class(height < SHORT_HEIGHT, "-short")
        self.set_class(width >= WIDE_WIDTH, "-wide")
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self.set_class(width < SLIM_WIDTH, "-slim")
        self.set_class(width < TINY_WIDTH or height < TINY_HEIGHT, "-tiny")
        self.set_class(width < TINY_WIDTH, "-one-column")
        self._chart_fits = width >= CHART_MIN_WIDTH and height >= CHART_MIN_HEIGHT
        self.query_one(HParamPanel).set_inline(height < INLINE_HEIGHT)
        self._apply_chart_visibility()

    @property
    def chart_visible(self) -> bool:
        if self.chart_wanted is not None:
            return self.chart_wanted
        return self._chart_fits

    def _apply_chart_visibility(self) -> None:
        data_shown = self.data_wanted
        # The data view takes the chart's place, or sits beside it on a wide screen.
        visible = self.chart_visible and (not data_shown or self.has_class("-wide"))
        self.set_class(not (visible or data_shown), "-no-chart")
        self.set_class(visible or data_shown, "-chart")
        chart = self.query_one(MainChart)
        if chart.display != visible:
            chart.display = visible
            if visible:  # it was not drawn while hidden
                self.call_after_refresh(self._draw_chart)
        data = self.query_one(DataViewPanel)
        if data.display != data_shown:
            data.display = data_shown
            data.draw(self.snapshot if data_shown else None)
        self.call_after_refresh(self._ask_for_data_view)

    def _ask_for_data_view(self) -> None:
        """Tell the runner the grid the data view needs (None: hidden, which costs the
        engine nothing); only when that changed."""
        if self.leaving:  # called after a refresh, which may come once it is gone
            return
        data = self.query_one(DataViewPanel)
        wanted = data.resolution if data.display and data.size.area else None
        if wanted != self._data_resolution:
            self._data_resolution = wanted
            self.runner.show_data_view(wanted)

    # -- polling -----------------------------------------------------------------

    def _poll(self) -> None:
        """Read the latest snapshot, redraw if it changed, then arm the next poll."""
        if self.leaving:  # switched away (or being removed): no widgets to draw on
            self._stopping_polls = True
        if self._stopping_polls:
            return
        started = time.monotonic()
        self.poll_starts.append(started)
        try:
            self.refresh_from_runner(throttle=True)
            if self._chart_due:
                self._draw_chart()
            self._ask_for_data_view()  # after a resize, or once the view's shape is known
        finally:
            if not self._stopping_polls:
                # Armed only now, so polls never overlap. Each is due one interval after
                # the previous one was due, not after it ran, so a late poll (a redraw
                # kept the loop busy) does not push every later one back; one that fell
                # more than an interval behind starts the schedule afresh.
                now = time.monotonic()
                due = self._poll_due + self.poll_interval  # the next poll's due time
                if due < now - self.poll_interval:  # the first poll, or far behind
                    due = started + self.poll_interval
                self._poll_due = due
                self.set_timer(max(0.005, due - now), self._poll, name="poll")

    def refresh_from_runner(self, throttle: bool = False) -> None:
        """The runner's latest snapshot, drawn if it is a new version (when throttled, and
        the state has not changed, only redraw_interval after the last drawing)."""
        snap = self.runner.snapshot()
        if self.snapshot is not None and snap.version == self._version:
            return
        now = time.monotonic()
        recent = now - self._drawn_at < self.redraw_interval
        if throttle and snap.state == self._state and recent:
            return
        self._drawn_at = now
        self.show(snap)

    def show(self, snap: Snapshot) -> None:
        """Draw one snapshot on every panel."""
        self.snapshot = snap
        self._version = snap.version
        for name in [n for n, v in self.pending.items() if _same(snap.hparam(n), v)]:
            del self.pending[name]
        if self.pace_sent is not None and _same(snap.pace, self.pace_sent):
            self.pace_sent = None

        state = RunState(snap.state)
        state_changed = state != self._state
        self.query_one(RunHeader).show(snap)
        self._show_metrics(snap)
        self._chart_due = True  # drawn by the poll: a burst of key presses draws it once
        self.query_one(HParamPanel).show(snap, self.pending)
        self.query_one(EventLog).show(snap)
        self.query_one(StatusPanel).show(snap)
        data = self.query_one(DataViewPanel)
        if data.display:
            data.draw(snap)

        if state_changed:
            previous, self._state = self._state, state
            self.refresh_bindings()
            self._on_state_change(previous, state, snap)

    def _show_metrics(self, snap: Snapshot) -> None:
        if snap.task != self._task_kind:
            self._task_kind = snap.task
            second = ("acc", "acc") if snap.task == "classification" else ("mad", "MAD")
            self.query_one("#m-train-2", MetricRow).set_metric(
                f"train_{second[0]}", f"train {second[1]}"
            )
            self.query_one("#m-val-2", MetricRow).set_metric(f"val_{second[0]}", f"val {second[1]}")
        lr = snap.hparam("lr")  # shown until the first evaluation records the lr
        lr = lr if isinstance(lr, (int, float)) and not isinstance(lr, bool) else None
        for row in self.query(MetricRow):
            row.show(snap, lr if row.metric == "lr" else None)

    def _draw_chart(self) -> None:
        """Hand the chart the latest snapshot and options (a hidden chart stays due)."""
        if self.leaving:  # called after a refresh, which may come once it is gone
            return
        chart = self.query_one(MainChart)
        if not chart.display:
            return
        self._chart_due = False
        chart.draw(self.snapshot)

    def _on_state_change(self, previous: RunState | None, state: RunState, snap: Snapshot) -> None:
        if state is RunState.RUNNING:
            self._freeze_heap()  # compiled by now: what exists is here to stay
        if state is RunState.DIVERGED and previous is not None:
            self.notify(
                "The loss blew up. Lower the learning rate (-), then reset (r).",
                title="Run diverged",
                severity="warning",
            )
        elif state is RunState.ERROR and not self._error_shown:
            self._error_shown = True
            self.app.push_screen(
                ErrorScreen(snap.error or "no traceback", self._save_traceback(snap))
            )

    def _save_traceback(self, snap: Snapshot) -> str | None:
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            path = self.output_dir / f"groklab-error-{safe_file_stem(snap.preset)}.txt"
            path.write_text(snap.error or "", encoding="utf-8")
            return str(path)
        except OSError:
            return None

    # -- keys --------------------------------------------------------------------

    @property
    def run_state(self) -> RunState:
        """The run state of the snapshot shown (compiling before the first one)."""
        return RunState(self.snapshot.state) if self.snapshot else RunState.COMPILING

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not super().check_action(action, parameters):
            return False  # not mounted yet, or being removed: no widgets to act on
        state = self.run_state
        if action == "pause":
            return state.can_pause
        if action == "resume":
            return state.can_resume
        if action == "step" and not (state.can_step or state.can_pause):
            return None  # shown, greyed out: diverged (reset first) or error
        if state is RunState.ERROR and action in (
            "lr_up",
            "lr_down",
            "wd_up",
            "wd_down",
            "batch_up",
            "batch_down",
            "test",
            "pace_down",
            "pace_up",
            "toggle_full_speed",
        ):
            return None  # the runner is gone
        return True

    def action_pause(self) -> None:
        self.runner.pause()
        self.refresh_from_runner()

    def action_resume(self) -> None:
        self.runner.resume()
        self.refresh_from_runner()

    def action_step(self) -> None:
        if self.run_state.can_pause:  # a single step moves a run that is not training
            self.runner.pause()
        self.runner.step(1)
        self.refresh_from_runner()

    def action_reset(self) -> None:
        self.runner.reset()
        self.query_one(EventLog).note("reset requested")
        self.refresh_from_runner()

    def _current(self, name: str) -> object:
        if name in self.pending:
            return self.pending[name]
        return self.snapshot.hparam(name) if self.snapshot is not None else None

    def edit(self, name: str, value: float | int) -> bool:
        """Ask the runner to change a hyperparameter; a refusal is shown, nothing changes."""
        try:
            self.runner.set(name, value)
        except ConfigError as exc:
            self.notify(str(exc), title=f"{name} not changed", severity="error")
            return False
        self.pending[name] = value
        if self.snapshot is not None:
            self.query_one(HParamPanel).show(self.snapshot, self.pending)
        self.refresh_from_runner()
        return True

    def _numeric(self, name: str) -> float | None:
        value = self._current(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.notify(f"{name} is not known yet", severity="warning")
            return None
        return value

    def action_lr_up(self) -> None:
        if (lr := self._numeric("lr")) is not None:
            self.edit("lr", lr * 2)

    def action_lr_down(self) -> None:
        if (lr := self._numeric("lr")) is not None:
            self.edit("lr", lr / 2)

    def action_wd_up(self) -> None:
        if (wd := self._numeric("weight_decay")) is not None:
            self.edit("weight_decay", doubled_decay(float(wd)))

    def action_wd_down(self) -> None:
        if (wd := self._numeric("weight_decay")) is not None:
            new, why = halved_decay(float(wd))
            if new is None:
                self.notify(why, title="weight decay not changed")
            else:
                self.edit("weight_decay", new)

    def _batch(self, change) -> None:
        batch = self._numeric("batch_size")
        if batch is None:
            return
        n_train = self.snapshot.train_size if self.snapshot is not None else None
        new, why = change(int(batch), n_train)
        if new is None:
            self.notify(why, title="batch size not changed")
        else:
            self.edit("batch_size", new)

    def action_batch_up(self) -> None:
        self._batch(doubled_batch)

    def action_batch_down(self) -> None:
        self._batch(halved_batch)

    # -- pace: how fast the run trains, in steps per second; it changes no number ----

    @property
    def pace(self) -> float:
        """The pace in effect, or just sent (0 = full speed)."""
        if self.pace_sent is not None:
            return self.pace_sent
        if self.snapshot is not None:
            return self.snapshot.pace
        return self.runner.config.train.pace

    def set_pace(self, pace: float) -> None:
        if pace > 0:
            self._paced_at = pace
        self.pace_sent = pace
        self.runner.set_pace(pace)
        self.query_one(EventLog).note(pace_text(pace))
        self.refresh_from_runner()

    def action_pace_down(self) -> None:
        pace = self.pace
        if pace <= 0:  # from full speed: half the speed it runs at
            speed = self.snapshot.steps_per_s if self.snapshot is not None else 0.0
            pace = speed if speed > 0 else self._paced_pace()
        if pace / 2 < MIN_PACE:
            self.notify(f"The slowest pace is {MIN_PACE:g} steps/s.", title="pace not changed")
            return
        self.set_pace(pace / 2)

    def action_pace_up(self) -> None:
        pace = self.pace
        if pace <= 0:
            self.notify("Already at full speed (f goes back to the pace).")
        else:
            self.set_pace(min(pace * 2, MAX_PACE))

    def action_toggle_full_speed(self) -> None:
        self.set_pace(0.0 if self.pace > 0 else self._paced_pace())

    def _paced_pace(self) -> float:
        """The pace f returns to: the last one used, the preset's, or its run in ~20 s."""
        cfg = self.runner.config
        return self._paced_at or cfg.train.pace or max(1.0, round(cfg.train.steps / FULL_RUN_S))

    def action_test(self) -> None:
        self.runner.evaluate_test()
        self.query_one(EventLog).note("test set evaluation requested (once, on demand)")
        self.refresh_from_runner()

    def _export_path(self, suffix: str) -> Path:
        """output_dir/groklab-PRESET-stepN-TIME.SUFFIX, the preset's name made a safe file
        name (what e and s write lands in output_dir, whatever the name holds), the time
        to the millisecond and a counter if needed: a name is never used twice."""
        snap = self.snapshot
        preset = safe_file_stem(snap.preset) if snap else "run"
        stem = f"groklab-{preset}-step{snap.step if snap else 0}-{_stamp()}"
        path = self.output_dir / f"{stem}.{suffix}"
        for n in itertools.count(2):
            if path not in self._names_given and not path.exists():
                break
            path = self.output_dir / f"{stem}-{n}.{suffix}"
        self._names_given.add(path)  # an export is written later, by a worker
        return path

    def action_export(self) -> None:
        self._export(self._export_path("csv"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="export")
    def _export(self, path: Path) -> Path:
        # The CSV write is small but it is file I/O under the runner's lock: keep it off
        # the UI thread.
        path.parent.mkdir(parents=True, exist_ok=True)
        return self.runner.export(path)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "export":
            return
        if event.state == WorkerState.SUCCESS:
            self.notify(str(worker.result), title="Metrics exported (CSV)")
        elif event.state == WorkerState.ERROR:
            self.notify(
                f"{type(worker.error).__name__}: {worker.error}",
                title="Export failed",
                severity="error",
            )

    def action_screenshot(self) -> None:
        # Written here rather than by App.save_screenshot, which expands a leading ~.
        path = self._export_path("svg")
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(self.app.export_screenshot(), encoding="utf-8")
        except OSError as exc:
            self.notify(str(exc), title="Screenshot failed", severity="error")
            return
        self.notify(str(path), title="Screenshot saved")

    def action_toggle_chart(self) -> None:
        self.chart_wanted = not self.chart_visible

    def watch_chart_wanted(self) -> None:
        self._apply_chart_visibility()

    def action_toggle_data(self) -> None:
        self.data_wanted = not self.data_wanted

    def watch_data_wanted(self) -> None:
        self._apply_chart_visibility()

    def action_toggle_log(self) -> None:
        chart = self.query_one(MainChart)
        chart.log_scale = not chart.log_scale

    def action_toggle_log_x(self) -> None:
        chart = self.query_one(MainChart)
        chart.log_x = not chart.log_x

    def action_cycle_smoothing(self) -> None:
        self.query_one(MainChart).cycle_smoothing()

    def action_cycle_view(self) -> None:
        self.query_one(MainChart).cycle_view()

    def action_clear_ghost(self) -> None:
        if not self.query_one(MainChart).clear_ghost():
            self.notify("No previous run to clear: the ghost appears after a reset (r).")

    def action_presets(self) -> None:
        if isinstance(self.app, RunHost):
            self.app.show_picker()

    def action_help(self) -> None:
        note = (
            "ctrl+p opens the command palette: every action and every preset.\n"
            "Edits are queued and applied between chunks; the event log records each "
            "one with its step."
        )
        self.app.push_screen(HelpScreen("keys", key_rows(self.app, self.BINDINGS), note))

    async def action_quit(self) -> None:
        await self.app.action_quit()


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1000) % 1000:03d}"

"""The runner: one thread that drives a Session in short chunks and publishes snapshots.

Commands (engine/live/control.py: pause, step, edits...) arrive through a queue and are
applied between chunks, never mid-step, in the order given; those given while the kernels
still load wait in the queue. Each chunk is sized, from measured durations, to about
CHUNK_TARGET_S of work, so a pause takes effect within one chunk (well under 100 ms). A
stop also sets the trainer's stop flag, which the kernel reads before each step, so it
never waits for more than the step under way. After each chunk the runner publishes an
immutable Snapshot; readers take the latest one without locks (a single attribute read is
atomic in CPython).

With a run directory, the checkpoint is rewritten between chunks every
train.checkpoint_every_s and at the end, with the summary (engine/store/rundir.py).

A run given a pace (steps per second: the dashboard passes train.pace; headless runs and
benchmarks never do) trains in chunks of PACE_TICK_S worth of steps and waits between
them on the command queue, so it sleeps rather than spins and a key still takes effect at
once. A chunk's size never changes a number (Session.advance is chunk-independent), so
neither does the pace.

A non-finite loss pauses the run and marks it diverged. An exception in the thread is
caught and published with its traceback (state "error"); the thread never dies silently.

Importing this module, or building a Runner, does not import numba: the thread's first
act is to import and load (or compile) the kernels, while the snapshot says compiling.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.config import RunConfig
from engine.live.background_compile import BackgroundCompile, parallel_is_cached
from engine.live.control import (
    Command,
    EvaluateTest,
    Export,
    Pause,
    Reset,
    Resume,
    SetHParam,
    SetPace,
    ShowDataView,
    Step,
    Stop,
    valid_pace,
)
from engine.live.snapshot import Series, Snapshot, starting_snapshot
from engine.numerics.kernel_cache import training_kernel_never_cached
from engine.numerics.parallel import cores, shard_cores
from engine.numerics.warmup import (
    FIRST_KERNELS,
    PARALLEL_COMPILE_S,
    PARALLEL_KERNEL,
    parallel_wanted,
    warm_up_kernels,
)
from engine.store.files import RunDirError
from engine.training.dataview import DataViewFeed
from engine.training.hparams import shown_hparams, validate_hparam
from engine.training.session import Session
from engine.vocabulary import RunState

CHUNK_TARGET_S = 0.03  # aim for 30 ms per kernel call: inside the 20-50 ms band
PUBLISH_EVERY_S = 0.1  # at most 10 new snapshots/s: a redraw costs the UI thread ~30 ms
MAX_SERIES_POINTS = 1000  # a snapshot's series are decimated to this many points
MAX_EVENTS = 200  # the snapshot carries the most recent events
PACE_TICK_S = 0.05  # a paced run trains this much wall time's worth of steps per chunk
PACE_RATE_WINDOW_S = 1.0  # a paced run's steps/s: steps over about this much wall time
FLUSH_BEFORE_S = 0.25  # flush the run's files before a chunk expected to take this long


def _decimate(steps: np.ndarray, values: np.ndarray) -> Series:
    """At most MAX_SERIES_POINTS evenly spaced points, always keeping the newest."""
    if steps.size > MAX_SERIES_POINTS:
        idx = np.linspace(0, steps.size - 1, MAX_SERIES_POINTS).round().astype(np.int64)
        steps, values = steps[idx], values[idx]
    return Series(tuple(int(s) for s in steps), tuple(float(v) for v in values))


_RUNNERS: weakref.WeakSet[Runner] = weakref.WeakSet()  # every runner of this process


def stop_every_runner() -> None:
    """Stop every runner of this process and wait for those that trained to write their
    final files, but not for those stopped while loading their kernels: they write
    nothing, so the process may end (even by os._exit) while they still compile."""
    for runner in list(_RUNNERS):
        if runner.is_alive:
            runner.stop()


class Runner:
    """Drives one Session in its own thread; nothing here assumes it is the only runner.

    Implements engine.live.control.RunControl.
    """

    def __init__(
        self,
        cfg: RunConfig,
        out_dir: Path | str | None = None,
        start_paused: bool = False,
        resume: Path | str | None = None,
        session_factory: Callable[..., Session] = Session,
        pace: float = 0.0,
    ) -> None:
        self.config = cfg
        self._pace = valid_pace(pace)  # steps per second; 0 = full speed
        self._pace_due = 0.0  # perf_counter() time at which a paced run's next chunk starts
        self._pace_marks: deque[tuple[float, int]] = deque()  # (time, step) of paced chunks
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._resume = Path(resume) if resume is not None else None
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._paused = start_paused
        self._pending_steps = 0
        self._state = RunState.COMPILING
        self._error: str | None = None
        self._failure: str | None = None
        self._version = 0
        self._last_publish = 0.0
        self._published_step = -1  # the step of the latest snapshot built from a session
        self._start_step = 0  # the step the run began, resumed or was reset at
        self._started_at = time.perf_counter()
        # Built here, in the caller's thread, so a user's mistake found while reading the
        # data (say a bad CSV cell) is a ConfigError for the caller, not a dead run.
        self.session: Session = session_factory(cfg)
        if self._resume is not None:
            from engine.store.checkpoint import load_into

            # Here, before any file of the run directory is touched: a checkpoint that is
            # damaged or does not fit the config (checked member by member) fails the
            # caller and changes nothing.
            load_into(self.session, self._resume)
        self._ready = False  # kernels warm and the session begun
        # A stop and the start of training exclude each other: a run stopped before it
        # trains writes nothing, one stopped after writes its final checkpoint.
        self._phase = threading.Lock()
        self._training = False
        self._stop_requested = False
        self.in_chunk = False  # a kernel call is under way (a stop waits for its step)
        self.save_error: str | None = None  # why the final checkpoint or summary failed
        self._last_checkpoint = 0.0
        self.writer = None
        self._summary: dict | None = None
        self.last_chunk: tuple[int, float] = (0, 0.0)  # (steps, seconds) of the latest chunk
        self.data_views = DataViewFeed(self.session.trainer)
        self._background_compile: BackgroundCompile | None = None  # while a child compiles
        self._snapshot = self._empty_snapshot()
        self._thread = threading.Thread(
            target=self._main, name=f"groklab-runner-{cfg.name}", daemon=True
        )
        _RUNNERS.add(self)

    # ------------------------------------------------------------------ public API
    def start(self) -> None:
        """Start the thread (a second call does nothing, so a caller may start it early)."""
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()

    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def is_alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def failure(self) -> str | None:
        """One line when the run stopped because its run directory could not be written
        (a full disk...): the file, the reason and the step; None otherwise."""
        return self._failure

    @property
    def summary(self) -> dict | None:
        """The summary of the finished run, as summary.json has it (made the same way when
        there is no run directory); None before the end."""
        return self._summary

    @property
    def checkpoint_step(self) -> int | None:
        """The step of the latest checkpoint written to the run directory (None: none)."""
        return self.writer.checkpoint_step if self.writer is not None else None

    @property
    def summary_written(self) -> bool:
        """summary.json has been written (with the checkpoint it names)."""
        return self.writer is not None and self.writer.summary_written

    def pause(self) -> None:
        self._commands.put(Pause())

    def resume(self) -> None:
        self._commands.put(Resume())

    def step(self, n: int = 1) -> None:
        self._commands.put(Step(int(n)))

    def reset(self) -> None:
        self._commands.put(Reset())

    def set(self, name: str, value: float | int) -> None:
        """Validate now (raise ConfigError with the reason), apply between chunks."""
        self._commands.put(SetHParam(name, validate_hparam(self.config.optim.kind, name, value)))

    def set_pace(self, steps_per_s: float) -> None:
        """Train at this many steps per second (0 = full speed); ValueError if not >= 0."""
        self._commands.put(SetPace(valid_pace(steps_per_s)))

    def evaluate_test(self) -> None:
        self._commands.put(EvaluateTest())

    def show_data_view(self, resolution: tuple[int, int] | None) -> None:
        shown = None if resolution is None else (int(resolution[0]), int(resolution[1]))
        self._commands.put(ShowDataView(shown))

    def export(self, path: Path | str | None = None) -> Path:
        """Write the metrics CSV now and return its path (waits for the runner, < 1 chunk)."""
        if not self._ready:
            raise RuntimeError("nothing to export yet: the run is still starting")
        command = Export(Path(path) if path is not None else None)
        self._commands.put(command)
        result = command.reply.get(timeout=10.0)
        if isinstance(result, BaseException):
            raise result
        return result

    def request_stop(self) -> bool:
        """Ask the run to stop and return at once; True when it had not begun training (it
        then writes nothing, and its thread ends when the kernels it loads are ready).

        Otherwise the kernel ends its chunk after the step under way, and the thread
        writes the final checkpoint and summary and closes the files (see `join`). Safe to
        call more than once, and from a signal handler (SimpleQueue.put is reentrant).
        """
        self._commands.put(Stop())  # queued before the flag, so the loop finds it at once
        self.session.trainer.stop_flag[0] = 1
        with self._phase:
            self._stop_requested = True
            return not self._training

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; False on timeout."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> None:
        """Stop and wait until the final checkpoint and summary are written and the files
        closed, however long the step under way takes: exiting the interpreter while a
        kernel runs would pull its memory away under it. A run still loading its kernels
        has nothing to write: that is not waited for. Safe to call more than once."""
        if self.request_stop():
            return  # it never trains: nothing to wait for
        self.join()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run is in a final state (done, diverged, error) or the thread
        ended; False on timeout."""
        end = None if timeout is None else time.perf_counter() + timeout
        while self._thread.is_alive():
            if self._snapshot.state.is_final:
                return True
            if end is not None and time.perf_counter() > end:
                return False
            time.sleep(0.01)
        return True

    # ------------------------------------------------------------------ thread
    def _main(self) -> None:
        try:
            self._publish(force=True)
            self._warm_up()
            with self._phase:
                if self._stop_requested:
                    return  # stopped while loading: nothing was trained, nothing to write
                self._training = True
            self._prepare_session()
            self._ready = True
            self._state = RunState.PAUSED if self._paused else RunState.RUNNING
            self._publish(force=True)
            self._loop()
        except Exception as exc:
            self._state = RunState.ERROR
            if isinstance(exc, RunDirError):  # the disk, not a bug: no traceback to show
                self._error = self._failure = f"{exc}; the run stopped at step {self.session.step}"
            else:
                self._error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc()}"
            self.session.note("error", f"{type(exc).__name__}: {exc}")
            self._publish(force=True)
            self._wait_for_stop()
        finally:
            self._close_outputs()
            self._publish(force=True)  # the final state: the step the files were written at

    def _warm_up(self) -> None:
        """The kernels this run needs before its first step. On a cold cache that is the
        serial training kernel alone: a child process started first compiles the rest on
        the other core (engine/live/background_compile.py). The run trains serially
        meanwhile, with the same numbers, and switches to parallel shards when they are
        ready."""
        dtype = self.session.trainer.dtype
        child = None
        if cores() > 1 and training_kernel_never_cached():
            # A first run with this cache: the child starts before this thread has even
            # imported Numba, as it has the most to compile ahead of the run.
            child = BackgroundCompile(dtype)
        if not parallel_wanted() or parallel_is_cached(dtype):
            warm_up_kernels(dtype)
            return
        self._background_compile = child or BackgroundCompile(dtype)
        self.session.trainer.parallel_ready = False
        warm_up_kernels(dtype, FIRST_KERNELS)
        self.session.note(
            "kernels",
            f"training serially while parallel shards compile in the background "
            f"(about {PARALLEL_COMPILE_S} s on a 2-core machine; the same numbers either way)",
        )

    def _maybe_switch_to_parallel(self) -> None:
        """Between chunks: load the parallel variant once its child has compiled it."""
        compiling = self._background_compile
        if compiling is None:
            return
        outcome = compiling.done()
        if outcome is None:
            return
        self._background_compile = None
        if not outcome:
            self.session.note("kernels", "parallel shards failed to compile: training stays serial")
            return
        warm_up_kernels(self.session.trainer.dtype, PARALLEL_KERNEL)  # from the cache
        self.session.trainer.parallel_ready = True
        self.session.note("kernels", f"parallel shards ready at step {self.session.step}")

    def _prepare_session(self) -> None:
        session = self.session
        if self.out_dir is not None:
            from engine.store.rundir import RunWriter

            self.writer = RunWriter(self.out_dir, session, resumed=self._resume is not None)
        if self._resume is not None:  # loaded when the runner was built
            session.note(
                "resume",
                f"resumed from {self._resume} at step {session.step}",
                data={"shard_cores": shard_cores()},  # as the start event: a replay reads it
            )
        else:
            session.begin()
        self._start_step = session.step
        self._last_checkpoint = time.perf_counter()

    def _wait_for_stop(self) -> None:
        """After a failure: answer exports with the reason and ignore the rest until Stop."""
        while True:
            cmd = self._commands.get()
            if isinstance(cmd, Stop):
                return
            if isinstance(cmd, Export):
                cmd.reply.put(RuntimeError("the run failed; nothing to export"))

    def _loop(self) -> None:
        session = self.session
        chunk = 1
        while True:
            idle = self._state.is_idle and self._pending_steps == 0
            paced = self._pace > 0 and not idle and self._pending_steps == 0
            # A paced run waits for its next chunk's time on the queue: asleep, yet woken
            # by any command at once.
            wait = self._pace_due - time.perf_counter() if paced else 0.0
            if wait > 0 and self.data_views.update(time.perf_counter(), slack=wait):
                self._publish(force=True)  # the view, drawn in the time it would sleep
                wait = self._pace_due - time.perf_counter()
            try:
                if idle or wait > 0:
                    cmd = self._commands.get(timeout=0.1 if idle else min(wait, 0.1))
                else:
                    cmd = self._commands.get_nowait()
            except queue.Empty:
                cmd = None
            if cmd is not None:
                if not self._apply(cmd):
                    return
                self._publish(force=True)
                continue  # drain every queued command before the next chunk
            if idle:
                if self.writer is not None:
                    self.writer.maybe_flush()
                viewed = self.data_views.update(time.perf_counter(), training=False)
                self._publish(force=viewed)
                continue
            if paced and self._pace_due > time.perf_counter():
                self._publish()
                continue
            self._maybe_switch_to_parallel()
            count = self._pending_steps or chunk
            if paced:
                count = min(count, max(1, round(self._pace * PACE_TICK_S)))
                self._note_paced_chunk(count)
            count = min(count, max(session.target_steps - session.step, 1))
            if self.writer is not None and self.last_chunk[1] > FLUSH_BEFORE_S:
                self.writer.flush()  # a slow chunk ahead: what is logged reaches the disk
            started = time.perf_counter()
            self.in_chunk = True
            try:
                result = session.advance(count)
            finally:
                self.in_chunk = False
            spent = time.perf_counter() - started
            if self._pending_steps:
                self._pending_steps = max(self._pending_steps - result.steps_done, 0)
            elif result.steps_done:
                # Adapt the chunk to ~CHUNK_TARGET_S, changing by at most 4x at a time.
                per_step = spent / result.steps_done
                wanted = CHUNK_TARGET_S / max(per_step, 1e-9)
                chunk = int(min(max(wanted, chunk / 4, 1), chunk * 4))
            self.last_chunk = (result.steps_done, spent)
            if self.writer is not None:
                self.writer.maybe_flush()
                self._maybe_checkpoint()
            if result.diverged:
                self._state = RunState.DIVERGED
                self._pending_steps = 0
            elif result.finished:
                self._state = RunState.DONE
                self._pending_steps = 0
                self._finish()
            self.data_views.update(time.perf_counter())
            self._publish(force=result.finished)

    def _apply(self, cmd: Command) -> bool:
        """Apply one command between chunks; False when it is Stop."""
        session = self.session
        state = self._state
        match cmd:
            case Stop():
                return False
            case Pause():
                if state.can_pause:
                    self._state = RunState.PAUSED
                    session.note("pause", f"paused at step {session.step}")
            case Resume():
                if state.can_resume:
                    if state == RunState.DONE:
                        # Going on after the budget: extend it by another train.steps.
                        self._extend(session.step + self.config.train.steps)
                    self._state = RunState.RUNNING
                    self._pace_marks.clear()  # no rate across a pause or the end
                    session.note("resume", f"resumed at step {session.step}")
            case Step(count=count):
                if state.can_step:
                    if session.step + count > session.target_steps:
                        self._extend(session.step + count)
                    self._pending_steps += count
                    session.note("step", f"step x{count} from step {session.step}")
            case Reset():
                left = session.step  # logged, as a replay needs it: the reset is at step 0
                session.reset()
                session.note(
                    "reset",
                    f"reset at step {left} to step 0 (seed {session.trainer.seed})",
                    data={"from_step": left},
                )
                if state.is_idle:  # a diverged or finished run waits, reset, for a resume
                    self._state = RunState.PAUSED
                self._pending_steps = 0
                self._start_step = 0
                self._pace_marks.clear()  # the step went back: no rate across it
                self.data_views.invalidate()
            case SetHParam(name=name, value=value):
                session.apply_hparam(name, value)  # validated by set(), at the boundary
            case SetPace(steps_per_s=pace):
                if pace != self._pace:
                    self._pace = pace
                    self._pace_due = 0.0
                    self._pace_marks.clear()
            case EvaluateTest():
                session.evaluate_test()
            case ShowDataView(resolution=resolution):
                self.data_views.want(resolution)
            case Export(path=path, reply=reply):
                try:
                    reply.put(self._export(path))
                except Exception as exc:
                    reply.put(exc)
        return True

    def _note_paced_chunk(self, count: int) -> None:
        """Book the time of the paced chunk about to run, and of the one after it."""
        now = time.perf_counter()
        # From where the last chunk was due, so the rate holds on average; from now after a
        # pause or a slow chunk, so a late run never bursts to catch up.
        start = self._pace_due if now - self._pace_due < PACE_TICK_S else now
        self._pace_due = start + count / self._pace
        marks = self._pace_marks
        marks.append((now, self.session.step))
        while len(marks) > 2 and now - marks[1][0] > PACE_RATE_WINDOW_S:
            marks.popleft()

    def _paced_rate(self) -> float:
        """Steps per wall second of a paced run over the last PACE_RATE_WINDOW_S."""
        marks = self._pace_marks
        if self._state != RunState.RUNNING or len(marks) < 2:
            return 0.0
        (t0, s0), (t1, s1) = marks[0], marks[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 else 0.0

    def _extend(self, target: int) -> None:
        """Move the step budget; logged with the new target, so a replay can follow."""
        self.session.target_steps = target
        self.session.note("extend", f"continuing to step {target}", data={"target": target})

    def _export(self, path: Path | None) -> Path:
        from engine.store.files import safe_file_stem
        from engine.store.rundir import write_metrics_csv

        if path is None:
            base = self.out_dir if self.out_dir is not None else Path.cwd()
            path = base / f"{safe_file_stem(self.config.name)}-step{self.session.step}-metrics.csv"
        write_metrics_csv(path, self.session)
        self.session.note("export", f"metrics written to {path}")
        return path

    def _maybe_checkpoint(self) -> None:
        """Rewrite the checkpoint when train.checkpoint_every_s has passed since the last
        write ended (so even a write slower than that leaves time to train)."""
        assert self.writer is not None
        if time.perf_counter() - self._last_checkpoint < self.config.train.checkpoint_every_s:
            return
        if self.writer.checkpoint_step != self.session.step:
            self.writer.checkpoint()
        self._last_checkpoint = time.perf_counter()

    def _finish(self) -> None:
        if self.session.test_metrics is None and self._state == RunState.DONE:
            self.session.evaluate_test()  # once, at the end; the log says so
        self._make_summary()

    def _make_summary(self) -> None:
        """Write summary.json (and the checkpoint) or, without a run directory, make the
        same summary in memory: `summary` is the run's result either way."""
        wall = time.perf_counter() - self._started_at
        if self.writer is not None:
            self._summary = self.writer.finish(wall)
        else:
            from engine.store.files import json_safe

            self._summary = json_safe(self.session.summary(wall))

    def _close_outputs(self) -> None:
        final = self._ready and self._state != RunState.ERROR
        writer = self.writer
        for action in (self._make_summary if final else None, writer and writer.close):
            try:
                if action is not None:
                    action()
            except RunDirError as exc:  # the disk refused: the run's end, said in one line
                self._state = RunState.ERROR
                self._error = self._failure = f"{exc}; the run stopped at step {self.session.step}"
                self.save_error = self.save_error or str(exc)
                self._publish(force=True)
            except Exception as exc:  # the caller says what was not saved: no traceback here
                self.save_error = self.save_error or f"{type(exc).__name__}: {exc}"

    # ------------------------------------------------------------------ snapshots
    def _empty_snapshot(self) -> Snapshot:
        return starting_snapshot(
            self.config, self._state, self._error, self._version, self._train_size(), self._pace
        )

    def _train_size(self) -> int:
        return self.session.trainer.splits["train"].n_rows

    def _publish(self, force: bool = False) -> None:
        """A new snapshot: when forced (a command, a state change, a data view), else at
        most every PUBLISH_EVERY_S and only if the run has stepped since the last one, so
        a paused run, or a paced one asleep between chunks, costs neither thread a redraw.
        The first steps after the run's start or a reset are shown at once: the dashboard
        says the run trains as soon as it does."""
        now = time.perf_counter()
        leaving_start = self._published_step == self._start_step != self.session.step
        if not force and not leaving_start and now - self._last_publish < PUBLISH_EVERY_S:
            return
        if not force and self._ready and self.session.step == self._published_step:
            return
        self._last_publish = now
        self._version += 1
        if not self._ready:
            self._snapshot = self._empty_snapshot()
            return
        self._published_step = self.session.step
        self._snapshot = self._build_snapshot(self.session)

    def _build_snapshot(self, session: Session) -> Snapshot:
        record = session.last_record or {}
        latest = tuple(
            (k, v if not isinstance(v, tuple) else None)
            for k, v in record.items()
            if k != "layer_grad_norms"
        )
        # The last step's own numbers, so a single step (n) shows what it changed before
        # the next evaluation.
        latest += tuple((k, session.history.last(k)) for k in ("step_loss", "step_grad_norm"))
        series = []
        for name in session.history.names:
            if session.history.count(name):
                steps, values = session.history.series(name)
                series.append((name, _decimate(steps, values)))
        guarantee = session.guarantee
        verdict = session.monitor.verdict
        report = session.test_report()
        test = None
        if report is not None:  # "stale" (and its note) only when it is
            test = tuple((k, v) for k, v in report.items() if k != "stale" or v)
        observed = session.observed_contraction() if guarantee is not None else None
        floor = guarantee.lstsq_loss if guarantee is not None else math.nan
        rate = guarantee.contraction if guarantee is not None and guarantee.applies else math.nan
        return Snapshot(
            preset=self.config.name,
            title=self.config.title,
            task=session.task,
            state=self._state,
            status=session.monitor.status,
            explanation=verdict.explanation,
            sentence=verdict.sentence,
            step=session.step,
            epoch=float(session.trainer.epoch),
            # A paced run's speed is its pace, as measured; else the engine's own rate.
            steps_per_s=self._paced_rate() if self._pace > 0 else float(session.steps_per_s),
            elapsed_s=float(session.elapsed),
            target_steps=session.target_steps,
            hparams=shown_hparams(session.trainer.hp, session.current_lr()),
            edited=session.edited,
            latest=latest,
            series=tuple(series),
            events=tuple(
                itertools.islice(session.events, max(len(session.events) - MAX_EVENTS, 0), None)
            ),
            guarantee=guarantee.rows() if guarantee is not None else (),
            observed_contraction=None if observed is None or math.isnan(observed) else observed,
            test=test,
            best_step=session.monitor.best_step,
            error=self._error,
            version=self._version,
            milestones=tuple(session.monitor.milestones.items()),
            train_size=self._train_size(),
            lstsq_floor=floor if math.isfinite(floor) else None,
            predicted_contraction=rate if math.isfinite(rate) else None,
            pace=self._pace,
            data_view=self.data_views.view,
        )

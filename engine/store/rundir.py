"""The run directory (`--out DIR`): config, metrics, events, summary, checkpoint.

Metrics and events are appended as they happen and written out at least once a second, so
a run killed with SIGKILL keeps everything up to its last second. Each write is whole lines
and nothing else: when the disk refuses one (full, gone), the file is cut back to its last
whole line, the writer stops and the run stops with one line naming the file and the
reason. summary.json, checkpoint.npz and config.toml are written atomically: a temporary
file in the same folder, fsync, rename. checkpoint.npz is rewritten every
train.checkpoint_every_s by the runner and at the end, when summary.json follows, naming
its step.

A resumed run continues its directory: metrics.csv and events.jsonl are cut back to the
checkpoint (lines written after it, by a run killed later, are dropped; lines the
checkpoint holds but the files lost are restored), so every evaluated step is there once,
in order; the new lines are appended after them.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from engine.config import config_to_toml
from engine.errors import ConfigError
from engine.store.checkpoint import save as save_checkpoint
from engine.store.files import RunDirError, atomic_write_bytes, json_safe
from engine.training.session import CSV_COLUMNS, Session

FLUSH_EVERY_S = 0.5  # well inside the promised second

# The files that make a folder a run directory: --out refuses to write over them.
RUN_FILES = ("config.toml", "metrics.csv", "events.jsonl", "summary.json", "checkpoint.npz")

# Less free space than this and a run could not even write its first checkpoint.
MIN_FREE_BYTES = 1 << 20


def write_metrics_csv(path: Path, session: Session) -> None:
    """All metrics rows the session holds in memory, under the CSV_COLUMNS header."""
    rows = list(session.rows)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(rows)


# ---------------------------------------------------------------------- --out checks
def _shown(path: str) -> str:
    return path if len(path) <= 160 else f"{path[:70]}...{path[-70:]}"


def _refuse(path: str, reason: str) -> ConfigError:
    return ConfigError(_shown(path), "--out", "a directory groklab can write its run into", reason)


def _kind(mode: int) -> str:
    for test, word in (
        (stat.S_ISREG, "an existing file"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return word
    return "not a directory"


def _nearest_existing(path: Path) -> tuple[Path, list[str]]:
    """The deepest ancestor of path that exists, and the names below it still to create."""
    missing: list[str] = []
    while not os.path.lexists(path) and path != path.parent:
        missing.insert(0, path.name)
        path = path.parent
    return path, missing


def _under_a_file(path: Path) -> str:
    for parent in path.parents:
        try:
            mode = os.stat(parent).st_mode
        except OSError:
            continue
        if not stat.S_ISDIR(mode):
            return f"a path under {_shown(str(parent))}, {_kind(mode)}"
    return "a path under a file"


def _probe(directory: Path, shown: str) -> None:
    """Create and remove a file in directory: the one sure test that a run can write there
    (permissions, a read-only mount, a full inode table), then look at the free space."""
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".groklab-probe-")
        os.close(fd)
        os.unlink(name)
        free = os.statvfs(directory)
    except OSError as exc:
        raise _refuse(shown, f"not writable ({exc.strerror or exc})") from None
    if free.f_bavail * free.f_frsize < MIN_FREE_BYTES:
        raise _refuse(shown, f"a full filesystem ({free.f_bavail * free.f_frsize} bytes free)")


def check_out_dir(out: str, *, resumed_dir: Path | None = None, force: bool = False) -> bool:
    """Refuse an output directory a run cannot or must not use, before any work is done.

    Bad paths (a file, a path under a file, a name too long, a folder that cannot be
    written...) and a folder that already holds a run raise a ConfigError naming --out, the
    path and the reason. A run folder is accepted when it is `resumed_dir` (the resumed run
    continues there) or with `force`. Returns True when a run there will be overwritten.
    Nothing is created: the writer makes the folder once the run has started.
    """
    if out == "":
        raise _refuse("''", "an empty path")
    if "\0" in out:
        raise _refuse(repr(out), "a path with a NUL character")
    path = Path(out)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.lexists(path):
            raise _refuse(out, "a broken symbolic link") from None
        mode = None
    except NotADirectoryError:
        raise _refuse(out, _under_a_file(path)) from None
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise _refuse(out, "a name too long for the filesystem") from None
        raise _refuse(out, exc.strerror or str(exc)) from None
    if mode is None:
        base, missing = _nearest_existing(path)
        if not base.is_dir():
            raise _refuse(out, _under_a_file(path))
        try:
            name_max = os.pathconf(base, "PC_NAME_MAX")
        except (OSError, ValueError):
            name_max = 255
        if any(len(os.fsencode(name)) > name_max for name in missing):
            raise _refuse(out, f"a name too long for the filesystem (over {name_max} bytes)")
        _probe(base, out)
        return False
    if not stat.S_ISDIR(mode):
        raise _refuse(out, _kind(mode))
    held = [name for name in RUN_FILES if os.path.lexists(path / name)]
    for name in held:
        if not (path / name).is_file():
            raise _refuse(out, f"{name} there is not a regular file")
    resuming_here = resumed_dir is not None and _same_dir(path, resumed_dir)
    if held and not (resuming_here or force):
        raise ConfigError(
            _shown(out),
            "--out",
            "a new or empty directory (pass --force to overwrite the run there, or "
            f"--resume {_shown(out)} to continue it)",
            f"a run ({', '.join(held)})",
        )
    _probe(path, out)
    return bool(held) and not resuming_here


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


# ---------------------------------------------------------------------- lines
def _csv_line(row: Iterable) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row)
    return buffer.getvalue().encode()


def _event_line(payload: dict) -> bytes:
    return (json.dumps(json_safe(payload)) + "\n").encode()


def _whole_lines(data: bytes) -> list[bytes]:
    """The complete lines of a file (each with its newline); a torn last line is dropped."""
    lines = data.split(b"\n")
    return [line + b"\n" for line in lines[:-1]]


def continue_lines(on_disk: list[bytes], saved: list[bytes]) -> list[bytes]:
    """A file's lines cut back to a checkpoint that saved the lines `saved` (its latest ones).

    The file is kept through the last line that the checkpoint also holds; lines after it
    were written after the checkpoint and are dropped, and the checkpoint's own lines after
    that one (the file lost them: a kill before a flush) are restored. A line holds a time
    or an elapsed time, so a match is the same line, not a look-alike. When no line matches
    (a file that lost everything), the checkpoint's lines are all there is.
    """
    where = {line: i for i, line in enumerate(saved)}
    for kept in range(len(on_disk), 0, -1):
        j = where.get(on_disk[kept - 1])
        if j is not None:
            return on_disk[:kept] + saved[j + 1 :]
    return list(saved)


def _read_lines(path: Path, header: bytes | None) -> list[bytes]:
    """The whole lines of one of the run's own files, header left off; [] if it is absent."""
    try:
        lines = _whole_lines(path.read_bytes())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise RunDirError(path, exc, "read") from None
    if header is not None and lines and lines[0] == header:
        lines = lines[1:]
    return lines


class _LineFile:
    """An append-only file of whole lines: each batch goes out in one write and, when the
    disk refuses part of it, the file is cut back to its last whole line."""

    def __init__(self, path: Path, content: bytes | None = None) -> None:
        self.path = path
        if content is not None:
            atomic_write_bytes(path, content)  # never truncated in place: a crash keeps one
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if content is None else 0)
        self.fd: int | None = os.open(path, flags, 0o666)
        self.size = os.fstat(self.fd).st_size
        self.pending: list[bytes] = []

    def write_pending(self) -> None:
        if not self.pending or self.fd is None:
            return
        data = b"".join(self.pending)
        self.pending.clear()
        done = 0
        try:
            while done < len(data):
                done += _write(self.fd, data[done:])
        except OSError as exc:
            whole = data[:done].rfind(b"\n") + 1
            # The cut needs no space; if even it fails there is nothing left to try.
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, self.size + whole)
            self.close()
            raise RunDirError(self.path, exc) from None
        self.size += done

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _write(fd: int, data: bytes) -> int:
    """os.write, one place for a test to make the disk full."""
    return os.write(fd, data)


class RunWriter:
    """Listens to a session and keeps its run directory up to date.

    `resumed`: the session was loaded from a checkpoint, and the directory's metrics and
    events (if any) continue from it; otherwise the directory starts afresh, and a run's
    summary and checkpoint left there (by a run overwritten with --force) are removed.
    Every OSError becomes a RunDirError naming the file; after one the writer writes
    nothing more, and `failure` says why.
    """

    def __init__(self, out_dir: Path, session: Session, resumed: bool = False) -> None:
        self.dir = Path(out_dir)
        self.session = session
        self.failure: RunDirError | None = None
        self._finished_step: int | None = None
        self._summary: dict | None = None
        self._last_flush = time.perf_counter()
        header = _csv_line(CSV_COLUMNS)
        path = self.dir
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            metrics, events = self.dir / "metrics.csv", self.dir / "events.jsonl"
            if resumed:
                rows = continue_lines(
                    _read_lines(metrics, header), [_csv_line(r) for r in session.rows]
                )
                logged = continue_lines(
                    _read_lines(events, None), [_event_line(e.as_dict()) for e in session.events]
                )
                path = metrics
                self._metrics = _LineFile(metrics, header + b"".join(rows))
                path = events
                self._events = _LineFile(events, b"".join(logged))
            else:
                for name in ("summary.json", "checkpoint.npz"):
                    path = self.dir / name
                    path.unlink(missing_ok=True)
                path = metrics
                self._metrics = _LineFile(metrics)
                self._metrics.pending.append(header)
                path = events
                self._events = _LineFile(events)
            # Last: a resume that failed before here left the old config beside its files.
            path = self.dir / "config.toml"
            atomic_write_bytes(path, config_to_toml(session.cfg).encode())
        except OSError as exc:
            raise RunDirError(path, exc) from None
        self.checkpoint_step: int | None = None  # the step of the last checkpoint written
        session.listeners.append(self._on)

    def _on(self, kind: str, payload: dict) -> None:
        if self.failure is not None:
            return
        if kind == "record":
            self._metrics.pending.append(_csv_line(self.session.csv_row(payload)))
        else:
            self._events.pending.append(_event_line(payload))
        # A failure is kept in `failure`: the runner's next flush raises it, between chunks.
        with contextlib.suppress(RunDirError):
            self.maybe_flush()

    def maybe_flush(self) -> None:
        if self.failure is not None or time.perf_counter() - self._last_flush >= FLUSH_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """Write out the pending lines; raises the RunDirError of the first failure (again,
        on every later call)."""
        if self.failure is None:
            try:
                for lines in (self._metrics, self._events):
                    lines.write_pending()
            except RunDirError as exc:
                self.failure = exc
        self._last_flush = time.perf_counter()
        if self.failure is not None:
            raise self.failure

    def finish(self, wall_s: float) -> dict:
        """Write summary.json and checkpoint.npz (once per step reached); return the summary
        as written, so a caller need not read the file back."""
        self.flush()
        if self._finished_step == self.session.step and self._summary is not None:
            return self._summary
        self.checkpoint()  # first, so the summary never names a checkpoint not on disk
        summary = json_safe(self.session.summary(wall_s))
        assert isinstance(summary, dict)
        summary["checkpoint_step"] = self.checkpoint_step
        path = self.dir / "summary.json"
        try:
            atomic_write_bytes(path, (json.dumps(summary, indent=2) + "\n").encode())
        except OSError as exc:
            self.failure = RunDirError(path, exc)
            raise self.failure from None
        self._finished_step = self.session.step
        self._summary = summary
        return summary

    def checkpoint(self) -> float:
        """Write checkpoint.npz now, atomically, after flushing metrics and events (so they
        reach at least its step); return the seconds the write took."""
        self.flush()
        started = time.perf_counter()
        path = self.dir / "checkpoint.npz"
        try:
            save_checkpoint(self.session, path)
        except OSError as exc:
            self.failure = RunDirError(path, exc)
            raise self.failure from None
        self.checkpoint_step = self.session.step
        return time.perf_counter() - started

    @property
    def summary_written(self) -> bool:
        return self._summary is not None

    def close(self) -> None:
        try:
            # A failure is kept in `failure` for whoever reports the run's end.
            with contextlib.suppress(RunDirError):
                if self.failure is None:
                    self.flush()
        finally:
            self._metrics.close()
            self._events.close()
            if self._on in self.session.listeners:
                self.session.listeners.remove(self._on)

"""`groklab replay DIR`: re-run a run directory and check it against what it recorded.

A run is a pure function of its resolved config and the commands that changed numbers,
and the run directory logs both: config.toml, and in events.jsonl every live edit (with
its step), reset (with the step it left) and budget extension (with the new target).
Pauses, single steps, chunk sizes and the pace change no number, so they are not needed.
The cores a step's rows are sharded for do (the order of the sums), so the start event
records them and the replay plans its shards for the same count, on any machine.

The replay builds a fresh Session from config.toml, applies the logged commands at their
steps, and compares:
- every metrics row with metrics.csv, in order (all columns but the wall clock), up to
  the checkpoint's step in the final segment; the first row that differs is reported;
- then every array and counter of checkpoint.npz with the replayed session's state.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.config import config_to_dict, load_config
from engine.errors import ConfigError
from engine.store.checkpoint import load_config as checkpoint_config
from engine.store.checkpoint import load_state
from engine.training.budget import check_memory
from engine.training.hparams import validate_hparam
from engine.training.session import CSV_COLUMNS, Session

# Columns that record the wall clock, not the maths.
_CLOCK_COLUMNS = frozenset({"elapsed_s"})
# The numeric part of a checkpoint: everything the next step reads.
_COMPARED_STATE = ("step", "rows_seen", "seed", "hparams", "target_steps", "sampler")


@dataclass(frozen=True)
class Command:
    """One logged command that changes numbers: applied when the session is at `step`."""

    step: int
    kind: str  # "edit", "reset" or "extend"
    data: dict


@dataclass(frozen=True)
class ReplayResult:
    """What the replay found: `first_difference` is None when everything matched."""

    steps: int  # steps the replay trained, all segments together
    rows_compared: int
    commands: int
    checkpoint_step: int
    first_difference: int | None = None  # the step where the replay and the record part
    reason: str = ""

    @property
    def exact(self) -> bool:
        return self.first_difference is None


def _required(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        raise ConfigError(str(directory), name, f"a run directory holding {name}", "missing")
    return path


def _whole_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _events(path: Path) -> Iterator[tuple[str, str, str, int, dict]]:
    """(where, snippet, kind, step, data) of each event an events.jsonl logs; a line that
    is not a groklab event is a ConfigError naming the file and line."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            where, snippet = f"{path}:{number}", raw[:40].decode("utf-8", "replace")
            try:
                event = json.loads(raw.decode("utf-8"))
                kind, step, data = event["kind"], event["step"], event.get("data") or {}
            except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
                raise ConfigError(where, "event", "one JSON event per line", snippet) from None
            if not _whole_number(step) or not isinstance(data, dict):
                raise ConfigError(where, "event", "an event with a step and a data object", snippet)
            yield where, snippet, kind, step, data


def _command(
    where: str, snippet: str, kind: str, step: int, data: dict, optimizer: str | None
) -> Command | None:
    """The number-changing command one event logs (None: another event)."""
    if kind == "edit":
        name, to = data.get("name"), data.get("to")
        if not isinstance(name, str) or isinstance(to, bool) or not isinstance(to, int | float):
            raise ConfigError(where, "edit", "an edit logged with its name and value", snippet)
        if optimizer is not None:
            try:
                to = validate_hparam(optimizer, name, to)
            except ConfigError as exc:
                raise ConfigError(where, exc.key, exc.expected, exc.found) from None
        return Command(step, kind, {"name": name, "to": to})
    if kind == "reset":
        if not _whole_number(data.get("from_step")):
            raise ConfigError(where, "reset", "a reset logged with its step", snippet)
        return Command(data["from_step"], kind, {})
    if kind == "extend" and "target" in data:
        if not _whole_number(data["target"]) or data["target"] < 1:
            raise ConfigError(where, "extend", "an extension logged with its target", snippet)
        return Command(step, kind, {"target": data["target"]})
    return None


def recorded_shard_cores(path: Path) -> int | None:
    """The cores the run's shards were planned for, from its start and resume events (None:
    a run recorded before groklab logged them, replayed with this machine's). A run resumed
    on a machine with another count trained its segments with other sums: refused."""
    seen: dict[int, str] = {}
    for where, _snippet, kind, _step, data in _events(path):
        if kind not in ("start", "resume") or "shard_cores" not in data:
            continue
        cores = data["shard_cores"]
        if not _whole_number(cores) or cores < 1:
            raise ConfigError(where, "shard_cores", "a whole number >= 1", repr(cores)[:20])
        seen.setdefault(cores, where)
    if len(seen) > 1:
        counts = ", then ".join(str(c) for c in seen)
        raise ConfigError(
            seen[list(seen)[-1]], "shard_cores", "one core count for the whole run (resumed "
            "on a machine with other cores, it cannot be replayed bit for bit)", counts,
        )  # fmt: skip
    return next(iter(seen), None)


def read_commands(path: Path, optimizer: str | None = None) -> list[Command]:
    """The number-changing commands of an events.jsonl, in the order they happened; each
    edit's value checked as a live edit of `optimizer` (the run's optim.kind) when given."""
    commands = (_command(*event, optimizer) for event in _events(path))
    return [command for command in commands if command is not None]


def _recorded_rows(path: Path) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(
            str(path), "rows", "metrics rows as groklab writes them", str(exc)
        ) from None
    if not rows or tuple(rows[0]) != CSV_COLUMNS:
        found = ",".join(rows[0]) if rows else "an empty file"
        raise ConfigError(str(path), "header", ",".join(CSV_COLUMNS), found[:80])
    for number, row in enumerate(rows[1:], 2):
        if not row or not row[0].isdigit():
            raise ConfigError(f"{path}:{number}", "step", "a step number", ",".join(row)[:40])
    return rows[1:]


def _as_text(row) -> list[str]:
    """A metrics row as csv.writer writes it, so it compares with the file's cells."""
    return ["" if value is None else str(value) for value in row]


def _differing_column(recorded: list[str], replayed: list[str]) -> str | None:
    for column, a, b in zip(CSV_COLUMNS, recorded, replayed, strict=False):
        if column not in _CLOCK_COLUMNS and a != b:
            return f"{column} recorded {a}, replayed {b}"
    if len(recorded) != len(replayed):
        return f"{len(recorded)} cells recorded, {len(replayed)} replayed"
    return None


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    return a == b


def _state_difference(saved: dict, replayed: dict) -> str | None:
    """The first checkpoint member whose value the replay does not reproduce."""
    arrays = sorted(k for k, v in saved.items() if isinstance(v, np.ndarray) and k != "grad_tail")
    for key in (*arrays, *_COMPARED_STATE):
        if key not in replayed:
            return f"{key} is in the checkpoint but not in the replay"
        if not _same(saved[key], replayed[key]):
            return f"checkpoint member {key} differs"
    return None


class Replay:
    """Re-runs one run directory (see the module docstring)."""

    def __init__(self, directory: Path | str) -> None:
        self.dir = Path(directory)
        if not self.dir.is_dir():
            raise ConfigError(str(self.dir), "DIR", "a run directory (--out DIR)", "no directory")
        config_path = _required(self.dir, "config.toml")
        self.checkpoint = _required(self.dir, "checkpoint.npz")
        self.cfg = load_config(config_path)
        check_memory(self.cfg)  # a config too big for the machine, before anything is built
        if config_to_dict(checkpoint_config(self.checkpoint)) != config_to_dict(self.cfg):
            raise ConfigError(
                str(config_path),
                "config",
                "the config the checkpoint was trained with",
                "a different one (edited by hand, or resumed with --set)",
            )
        events = _required(self.dir, "events.jsonl")
        self.commands = read_commands(events, self.cfg.optim.kind)
        self.shard_cores = recorded_shard_cores(events)
        self.rows = _recorded_rows(_required(self.dir, "metrics.csv"))
        # The session the replay trains, fresh: the checkpoint is checked against it.
        self.session = Session(self.cfg)
        self.saved = load_state(self.checkpoint, self.session)

    def run(self) -> ReplayResult:
        from engine.numerics.parallel import plan_shards_for

        plan_shards_for(self.shard_cores)
        try:
            return self._run()
        finally:
            plan_shards_for(None)

    def _run(self) -> ReplayResult:
        from engine.numerics.warmup import warm_up_kernels

        session = self.session
        warm_up_kernels(session.trainer.dtype)
        replayed: list[list[str]] = []
        session.listeners.append(
            lambda kind, payload: (
                replayed.append(_as_text(session.csv_row(payload))) if kind == "record" else None
            )
        )
        session.begin()
        trained = 0
        goal_step = int(self.saved["step"])

        def result(**found) -> ReplayResult:
            return ReplayResult(
                steps=trained,
                rows_compared=min(len(replayed), len(self.rows)),
                commands=len(self.commands),
                checkpoint_step=goal_step,
                **found,
            )

        for goal, command in self._goals(goal_step):
            while session.step < goal:
                before = session.step
                outcome = session.advance(goal - session.step)
                trained += session.step - before
                if outcome.finished and session.step < goal:
                    return result(
                        first_difference=session.step,
                        reason=f"the replay finished at step {session.step}, "
                        f"but the log goes on to step {goal}",
                    )
            if session.step != goal:
                return result(
                    first_difference=session.step,
                    reason=f"the log has a command at step {goal}, the replay is at "
                    f"step {session.step}",
                )
            difference = self._first_row_difference(replayed)
            if difference is not None:
                return result(first_difference=difference[0], reason=difference[1])
            if command is not None:
                self._apply(session, command)
        difference = self._first_row_difference(replayed)
        if difference is not None:
            return result(first_difference=difference[0], reason=difference[1])
        state = _state_difference(self.saved, session.state_dict())
        if state is not None:
            return result(first_difference=goal_step, reason=state)
        return result()

    def _goals(self, final_step: int) -> Iterator[tuple[int, Command | None]]:
        for command in self.commands:
            yield command.step, command
        yield final_step, None

    def _first_row_difference(self, replayed: list[list[str]]) -> tuple[int, str] | None:
        for recorded, mine in zip(self.rows, replayed, strict=False):
            reason = _differing_column(recorded, mine)
            if reason is not None:
                return int(mine[0]), f"metrics.csv at step {mine[0]}: {reason}"
        if len(replayed) > len(self.rows):
            missing = replayed[len(self.rows)][0]
            return int(missing), f"metrics.csv has no row for step {missing}"
        return None

    @staticmethod
    def _apply(session: Session, command: Command) -> None:
        match command.kind:
            case "edit":
                session.apply_hparam(command.data["name"], command.data["to"])
            case "reset":
                session.reset()
            case "extend":
                session.target_steps = command.data["target"]

"""MetricHistory: bounded memory, exact extremes, honest buckets, copies, checkpoints."""

from __future__ import annotations

import threading
import time
import tracemalloc
from typing import Any

import numpy as np
import pytest

from engine.training.history import MetricHistory


def _buckets(h: MetricHistory, name: str) -> dict[str, np.ndarray]:
    """The stored buckets of one metric, read through the checkpoint format."""
    arrays = h.state_dict()
    key = f"metric.{name}."
    ints = arrays[key + "buckets_int"]
    floats = arrays[key + "buckets_float"]
    return {
        "first": ints[:, 0],
        "last": ints[:, 1],
        "n": ints[:, 2],
        "nfinite": ints[:, 3],
        "step_mean": floats[:, 0],
        "min": floats[:, 1],
        "max": floats[:, 2],
        "mean": floats[:, 3],
        "recent_steps": arrays[key + "recent_steps"],
        "recent_values": arrays[key + "recent_values"],
    }


def _check_against_brute_force(h: MetricHistory, name: str, steps, values) -> None:
    """Every bucket summarizes exactly its slice of the input; the rest is stored verbatim."""
    b = _buckets(h, name)
    n = b["n"]
    assert n.sum() + b["recent_steps"].size == len(values)
    if n.size:
        # All buckets but the newest hold the same power-of-two number of points.
        width = n[0] if n.size > 1 else None
        if width is not None:
            assert np.all(n[:-1] == width) and n[-1] <= width
            assert width & (width - 1) == 0
    off = 0
    for j in range(n.size):
        blk_v = values[off : off + n[j]]
        blk_s = steps[off : off + n[j]]
        fin = blk_v[np.isfinite(blk_v)]
        assert b["first"][j] == blk_s[0] and b["last"][j] == blk_s[-1]
        assert b["step_mean"][j] == pytest.approx(blk_s.mean())
        assert b["nfinite"][j] == fin.size
        if fin.size:
            assert b["min"][j] == fin.min()
            assert b["max"][j] == fin.max()
            assert b["mean"][j] == pytest.approx(fin.mean(), rel=1e-12, abs=1e-12)
        else:
            assert np.isnan(b["min"][j]) and np.isnan(b["max"][j]) and np.isnan(b["mean"][j])
        off += n[j]
    np.testing.assert_array_equal(b["recent_steps"], steps[off:])
    np.testing.assert_array_equal(b["recent_values"], values[off:])


def test_ten_million_points_stay_within_a_fixed_memory_bound():
    recent, buckets = 4096, 2048
    h = MetricHistory(["loss"], recent=recent, buckets=buckets)
    total, batch = 10_000_000, 100_000
    spike_step, dip_step = 1_234, 5_000_000

    def batch_values(start: int) -> tuple[np.ndarray, np.ndarray]:
        steps = np.arange(start, start + batch, dtype=np.int64)
        values = 1.0 + 0.5 * np.sin(steps * 1e-5)
        values[steps == spike_step] = 1e6
        values[steps == dip_step] = -1e6
        return steps, values

    t0 = time.perf_counter()
    tracemalloc.start()
    try:
        steps, values = batch_values(0)
        h.extend(steps, {"loss": values})
        del steps, values
        bytes_early = h.nbytes
        points_early = h.stored_points("loss")
        traced_mid = 0
        for start in range(batch, total, batch):
            steps, values = batch_values(start)
            h.extend(steps, {"loss": values})
            if start == total // 2:
                # After half the run: by then numpy's cache of small freed blocks is full.
                # Measured with the batch let go, as at the end.
                del steps, values
                traced_mid, _ = tracemalloc.get_traced_memory()
        last_value = values[-1]
        del steps, values
        traced_late, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - t0

    assert h.count("loss") == total
    assert h.nbytes == bytes_early
    # 100x more points, but (almost) nothing more held: at most the buffers'
    # worth of points, and no allocation that grew with the run.
    assert points_early <= 2 * recent + buckets
    assert h.stored_points("loss") <= 2 * recent + buckets
    assert traced_late - traced_mid < 64 * 1024
    assert elapsed < 60

    # Exact extremes over all time, and the early spike survives in the envelope.
    assert h.global_max("loss") == 1e6
    assert h.global_min("loss") == -1e6
    env_steps, mins, maxs = h.envelope("loss")
    assert np.nanmax(maxs) == 1e6
    assert np.nanmin(mins) == -1e6
    first_bucket_end = _buckets(h, "loss")["last"][0]
    assert env_steps[np.nanargmax(maxs)] <= first_bucket_end  # it sits in the first bucket
    assert first_bucket_end >= spike_step

    steps, values = h.series("loss")
    assert steps.size == values.size == h.stored_points("loss")
    assert np.all(np.diff(steps) > 0)
    assert steps[-1] == total - 1
    assert values[-1] == last_value == h.last("loss")
    assert h.last_step("loss") == total - 1
    # Bucket means lie inside their envelopes.
    assert np.all((mins <= values) & (values <= maxs))


def test_buckets_match_a_brute_force_summary_for_mixed_appends():
    rng = np.random.default_rng(7)
    for _ in range(60):
        recent = int(rng.integers(1, 16))
        buckets = int(rng.integers(2, 9))
        n = int(rng.integers(1, 2_500))
        steps = np.cumsum(rng.integers(1, 4, size=n)).astype(np.int64)
        values = rng.normal(size=n)
        values[rng.random(n) < 0.1] = np.nan
        values[rng.random(n) < 0.05] = np.inf
        values[rng.random(n) < 0.05] = -np.inf
        h = MetricHistory(recent=recent, buckets=buckets)
        i = 0
        while i < n:
            if rng.random() < 0.5:
                h.append(int(steps[i]), {"x": values[i]})
                i += 1
            else:
                k = int(rng.integers(0, 3 * recent + 40))
                h.extend(steps[i : i + k], {"x": values[i : i + k]})
                i += min(k, n - i)
        _check_against_brute_force(h, "x", steps, values)
        assert h.stored_points("x") <= 2 * recent + buckets
        finite = values[np.isfinite(values)]
        if finite.size:
            assert h.global_min("x") == finite.min()
            assert h.global_max("x") == finite.max()
        else:
            assert np.isnan(h.global_min("x")) and np.isnan(h.global_max("x"))


def test_the_stored_history_never_depends_on_how_the_points_were_chunked():
    """A run's chunk sizes follow its timing (the runner aims at 30 ms a chunk, a pace
    sleeps between them): the history in its checkpoint must not, or a replay of the
    same run differs from the record."""
    rng = np.random.default_rng(3)
    n = 3_000
    steps = np.arange(n, dtype=np.int64)
    values = rng.lognormal(size=n)

    def stored(chunks) -> dict[str, np.ndarray]:
        h = MetricHistory(recent=64, buckets=16)
        i = 0
        for k in chunks:
            h.extend(steps[i : i + k], {"x": values[i : i + k]})
            i += k
        assert i == n
        return h.state_dict()

    one_by_one = stored([1] * n)
    for chunks in ([n], [7] * (n // 7) + [n % 7], [50] * (n // 50), [1000, 1, 1999]):
        arrays = stored(chunks)
        assert arrays.keys() == one_by_one.keys()
        for key, value in arrays.items():
            assert value.tobytes() == one_by_one[key].tobytes(), key


def test_non_finite_values_do_not_poison_finite_buckets():
    h = MetricHistory(recent=4, buckets=64)
    # Buckets of width 1 here, so each point's fate is visible.
    steps = np.arange(12, dtype=np.int64)
    values = np.array(
        [1.0, np.nan, 3.0, np.inf, -np.inf, 5.0, np.nan, np.nan, 2.0, np.inf, 4.0, np.nan]
    )
    h.extend(steps, {"loss": values})
    b = _buckets(h, "loss")
    # The buffer holds 2 x 4: the ninth point folded the oldest 5, as one by one.
    assert b["n"].sum() == 5
    # Folded non-finite points become nan buckets; finite ones keep their value.
    np.testing.assert_array_equal(b["mean"], [1.0, np.nan, 3.0, np.nan, np.nan])
    # Recent points are kept as they were: a divergence is visible as inf.
    _, series_values = h.series("loss")
    np.testing.assert_array_equal(series_values[-4:], [2.0, np.inf, 4.0, np.nan])
    # The envelope is over finite values only.
    _, mins, maxs = h.envelope("loss")
    np.testing.assert_array_equal(mins[-4:], [2.0, np.nan, 4.0, np.nan])
    assert h.global_min("loss") == 1.0 and h.global_max("loss") == 5.0
    last = h.last("loss")
    assert last is not None and np.isnan(last)

    # Wider buckets mixing finite and non-finite values: statistics over the finite ones.
    h = MetricHistory(recent=2, buckets=2)
    vals = np.array([1.0, np.inf, 3.0, np.nan, np.nan, np.nan, np.nan, np.nan, 9.0, 9.0])
    h.extend(np.arange(vals.size), {"m": vals})
    b = _buckets(h, "m")
    assert b["n"].tolist() == [4, 2]
    np.testing.assert_array_equal(b["mean"], [2.0, np.nan])
    np.testing.assert_array_equal(b["min"], [1.0, np.nan])
    np.testing.assert_array_equal(b["max"], [3.0, np.nan])
    # Merging a finite bucket with an all-nan one keeps the finite statistics.
    h.extend(np.arange(10, 14), {"m": np.array([7.0, 7.0, 7.0, 7.0])})
    b = _buckets(h, "m")
    assert b["n"].tolist() == [8, 4]
    assert b["mean"][0] == 2.0 and b["min"][0] == 1.0 and b["max"][0] == 3.0


def test_huge_finite_values_keep_a_finite_mean():
    h = MetricHistory(recent=1, buckets=2)
    big = np.full(64, 1.5e308)
    h.extend(np.arange(64), {"loss": big})
    _, values = h.series("loss")
    assert np.all(np.isfinite(values))
    assert values[0] == pytest.approx(1.5e308)


def test_readers_get_copies():
    h = MetricHistory(recent=8, buckets=4)
    h.extend(np.arange(100), {"a": np.arange(100, dtype=np.float64)})
    before = h.state_dict()

    for arr in (*h.series("a"), *h.envelope("a"), *h.state_dict().values()):
        arr[...] = -7
    after = h.state_dict()
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])
    assert h.last("a") == 99.0


def test_input_arrays_are_not_kept():
    h = MetricHistory(recent=8, buckets=4)
    steps = np.arange(5)
    values = np.ones(5)
    h.extend(steps, {"a": values})
    values[:] = 42.0
    steps[:] = 0
    s, v = h.series("a")
    np.testing.assert_array_equal(v, np.ones(5))
    np.testing.assert_array_equal(s, np.arange(5))


def test_round_trip_through_npz_continues_identically(tmp_path):
    rng = np.random.default_rng(3)
    h = MetricHistory(["train_loss", "val_acc", "unused"], recent=16, buckets=8)
    steps = np.arange(1_000, dtype=np.int64)
    loss = rng.random(1_000)
    loss[500] = np.inf
    h.extend(steps, {"train_loss": loss})
    for s in range(0, 1_000, 10):
        h.append(s, {"val_acc": float(rng.random()), "grad_norm.layer0": float(rng.random())})

    arrays = h.state_dict()
    assert all(a.dtype.kind in "iuf" for a in arrays.values())
    path = tmp_path / "ckpt.npz"
    members: dict[str, Any] = {"other": np.zeros(3), **arrays}  # Any: as in checkpoint.save
    np.savez(path, **members)
    restored = MetricHistory(["stale"], recent=2, buckets=2)  # replaced wholesale by the load
    restored.append(5, {"stale": 1.0})
    with np.load(path, allow_pickle=False) as data:
        restored.load_state_dict(data)

    assert restored.names == h.names
    assert restored.count("unused") == 0 and restored.last("unused") is None
    for name in h.names:
        mine = (*h.series(name), *h.envelope(name), h.global_min(name), h.global_max(name))
        theirs = (*restored.series(name), *restored.envelope(name))
        theirs += (restored.global_min(name), restored.global_max(name))
        for a, b in zip(mine, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
        assert restored.last_step(name) == h.last_step(name)

    # Resuming continues exactly as the uninterrupted history would.
    more_steps = np.arange(1_000, 3_000, dtype=np.int64)
    more = rng.random(2_000)
    for hist in (h, restored):
        hist.extend(more_steps, {"train_loss": more})
        hist.append(3_000, {"val_acc": 0.5})
    a, b = h.state_dict(), restored.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_load_state_dict_rejects_damaged_data_and_changes_nothing():
    h = MetricHistory(recent=4, buckets=4)
    h.extend(np.arange(50), {"a": np.ones(50)})
    target = MetricHistory(recent=4, buckets=4)
    target.append(3, {"b": 2.0})
    with pytest.raises(ValueError, match="meta"):
        target.load_state_dict({})
    arrays = h.state_dict()
    arrays["metric.a.recent_values"] = arrays["metric.a.recent_values"][:-1]
    with pytest.raises(ValueError, match="inconsistent"):
        target.load_state_dict(arrays)
    arrays = h.state_dict()
    del arrays["metric.a.buckets_float"]
    with pytest.raises(ValueError, match="missing"):
        target.load_state_dict(arrays)
    assert target.names == ("b",) and target.last("b") == 2.0


def test_steps_must_not_go_backwards_and_a_bad_batch_changes_nothing():
    h = MetricHistory(recent=4, buckets=4)
    h.append(10, {"a": 1.0})
    with pytest.raises(ValueError):
        h.append(9, {"a": 2.0})
    with pytest.raises(ValueError):
        h.extend(np.array([11, 12, 5]), {"a": np.zeros(3)})
    with pytest.raises(ValueError):
        # "b" is new and fine, but "a" would go backwards: neither changes.
        h.extend(np.array([3, 4]), {"b": np.zeros(2), "a": np.zeros(2)})
    with pytest.raises(ValueError):
        h.extend(np.array([20, 21]), {"a": np.zeros(3)})
    assert h.count("a") == 1 and h.last("a") == 1.0
    assert "b" not in h.names
    # An equal step is allowed (e.g. the test set evaluated twice while paused).
    h.append(10, {"a": 3.0})
    assert h.count("a") == 2


def test_none_means_no_value_and_unknown_names_raise():
    h = MetricHistory(["train_acc"])
    h.append(0, {"train_loss": 1.0, "train_acc": None})
    assert h.count("train_loss") == 1
    assert h.count("train_acc") == 0 and h.last("train_acc") is None
    steps, values = h.series("train_acc")
    assert steps.size == 0 and values.size == 0
    assert np.isnan(h.global_min("train_acc"))
    with pytest.raises(KeyError):
        h.series("nope")


def test_concurrent_reads_see_consistent_series():
    h = MetricHistory(["loss"], recent=256, buckets=64)
    done = threading.Event()
    problems: list[str] = []

    def writer() -> None:
        try:
            for start in range(0, 200_000, 1_000):
                steps = np.arange(start, start + 1_000)
                h.extend(steps, {"loss": np.exp(-steps * 1e-5)})
        finally:
            done.set()

    t = threading.Thread(target=writer)
    t.start()
    reads = 0
    while not done.is_set() or reads == 0:
        steps, values = h.series("loss")
        env_steps, mins, maxs = h.envelope("loss")
        reads += 1
        if steps.size != values.size or env_steps.size != mins.size:
            problems.append("length mismatch")
        if steps.size and not np.all(np.diff(steps) > 0):
            problems.append("steps not increasing")
    t.join()
    assert not problems
    assert h.count("loss") == 200_000

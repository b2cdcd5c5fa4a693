"""tui.plot.series: what reaches a widget is finite, a tuple, and no longer than the widget."""

from __future__ import annotations

import math

import pytest

from tui.plot import series as S

NAN, INF = math.nan, math.inf


def test_finite_points_drops_nan_inf_and_keeps_pairs_aligned():
    xs, ys = S.finite_points([1, 2, 3, 4, 5], [1.0, NAN, INF, -INF, 0.5])
    assert (xs, ys) == ((1.0, 5.0), (1.0, 0.5))
    assert isinstance(xs, tuple) and isinstance(ys, tuple)


def test_finite_points_positive_drops_zero_and_negative_for_log_axes():
    assert S.finite_points([1, 2, 3, 4], [0.0, -1.0, 2.0, None], positive=True) == ((3.0,), (2.0,))


def test_finite_points_empty():
    assert S.finite_points([], []) == ((), ())
    assert S.finite_points([1, 2], [NAN, INF]) == ((), ())


def test_finite_values_log10_and_numpy_input():
    np = pytest.importorskip("numpy")
    out = S.finite_values(np.array([0.01, 0.0, -1.0, 100.0, np.nan, np.inf]), log10=True)
    assert out == (-2.0, 2.0)
    assert all(type(v) is float for v in out)


def test_finite_values_skips_none_and_text():
    assert S.finite_values([1, None, "x", 2.5, NAN]) == (1.0, 2.5)


def test_bucket_means_never_exceeds_width():
    data = tuple(float(i) for i in range(1000))
    out = S.bucket_means(data, 37)
    assert len(out) == 37
    assert out[0] == pytest.approx(sum(range(27)) / 27)
    assert S.bucket_means(data[:5], 37) == data[:5]
    assert S.bucket_means(data, 0) == ()


def test_decimate_keeps_ends_and_a_one_point_spike():
    xs = tuple(range(10_000))
    ys = [1.0] * 10_000
    ys[5_123] = 1e6  # a one-step loss spike
    dx, dy = S.decimate(xs, ys, 100)
    assert len(dx) <= 102
    assert dx[0] == 0 and dx[-1] == 9_999
    assert 1e6 in dy and 5_123 in dx
    assert list(dx) == sorted(dx)


def test_decimate_short_series_unchanged():
    assert S.decimate((1, 2, 3), (4.0, 5.0, 6.0), 100) == ((1, 2, 3), (4.0, 5.0, 6.0))


def test_ema_is_debiased():
    # Without the 1/(1 - s^t) correction the first value would be (1 - s) * x = 0.1 x.
    assert S.ema([5.0], 0.9) == (5.0,)
    assert S.ema([3.0] * 50, 0.9) == pytest.approx((3.0,) * 50)
    smoothed = S.ema([0.0, 10.0], 0.5)
    assert smoothed[1] == pytest.approx((0.5 * 0.5 * 0.0 + 0.5 * 10.0) / (1 - 0.25))


def test_ema_skips_non_finite_values():
    out = S.ema([1.0, NAN, 1.0, INF], 0.8)
    assert out == pytest.approx((1.0, 1.0, 1.0, 1.0))
    with pytest.raises(ValueError):
        S.ema([1.0], 1.0)


def test_spark_data_is_finite_tuple_of_width():
    values = [2.0**-i for i in range(500)] + [NAN, INF, 0.0]
    out = S.spark_data(values, 40, log10=True)
    assert isinstance(out, tuple) and len(out) == 40
    assert all(math.isfinite(v) for v in out)
    assert S.spark_data([], 40) == ()
    assert S.spark_data([NAN, INF], 40) == ()
    assert S.spark_data([1.0, NAN], 40) == ()  # one point: nothing to draw yet


def test_spark_data_flattens_rounding_wobble():
    # bucket means of a constant lr differ in the last bit; a sparkline would draw a comb
    out = S.spark_data([0.05] * 997, 13)
    assert len(set(out)) == 1


def test_chart_points_log_and_smoothing():
    steps = list(range(100))
    values = [1.0, 0.0, -2.0, NAN] + [0.5] * 96
    xs, ys = S.chart_points(steps, values, width=10, log=True)
    assert all(y > 0 for y in ys) and len(xs) <= 20
    xs, ys = S.chart_points(steps, values, width=10, log=True, smoothing=0.9)
    assert all(y > 0 and math.isfinite(y) for y in ys)
    assert S.chart_points([], [], width=10, log=True) == ((), ())


@pytest.mark.parametrize(
    "value, text",
    [
        (None, "—"),
        (NAN, "nan"),
        (INF, "inf"),
        (-INF, "-inf"),
        (0.0, "0"),
        (1234, "1,234"),
        (0.012345, "0.01235"),
        (1.5e-7, "1.5e-07"),
        (3.2e9, "3.2e+09"),
        (True, "yes"),
    ],
)
def test_format_value(value, text):
    assert S.format_value(value) == text


def test_log_ticks_powers_of_ten_over_decades():
    ticks, labels = S.log_ticks(3e-7, 2.5, 10)
    assert labels[0] == "1e-7" and labels[-1] == "1e1"
    assert ticks == tuple(10.0**e for e in range(-7, 2))


def test_log_ticks_within_a_decade_and_bad_input():
    ticks, labels = S.log_ticks(0.5, 2.0, 4)
    assert len(ticks) == 4 and ticks[0] == pytest.approx(0.5) and ticks[-1] == pytest.approx(2.0)
    assert S.log_ticks(0.0, 1.0, 4) == ((), ())
    assert S.log_ticks(NAN, 1.0, 4) == ((), ())
    assert S.log_ticks(2.0, 2.0, 4) == ((2.0,), ("2",))


def test_nice_ticks():
    assert S.nice_ticks(0, 1000, 5) == (0, 200, 400, 600, 800, 1000)
    assert S.nice_ticks(10, 10, 5) == (10.0,)
    assert S.nice_ticks(NAN, 1, 5) == ()


def test_format_step():
    assert [S.format_step(v) for v in (950, 9999, 12_500, 3_000_000)] == [
        "950",
        "9999",
        "12.5k",
        "3M",
    ]


def test_huge_values_are_clipped_for_drawing():
    out = S.spark_data([-1e308, 1e308, -1.0], 3)
    assert max(out) - min(out) < math.inf
    xs, ys = S.chart_points([1, 2, 3], [1e308, 1e-320, 1.0], width=10, log=True)
    assert max(ys) <= S.DRAW_LIMIT and min(ys) >= 1 / S.DRAW_LIMIT


# -- the chart's numpy path ------------------------------------------------------------


def _decimate_reference(xs, ys, max_points):
    """decimate as it was first written (plain Python): the oracle for decimate_index."""
    count = len(xs)
    if max_points < 2 or count <= max_points:
        return tuple(xs), tuple(ys)
    buckets = max(1, max_points // 2)
    keep = {0, count - 1}
    for b in range(buckets):
        lo = b * count // buckets
        hi = max((b + 1) * count // buckets, lo + 1)
        idx = range(lo, hi)
        keep.add(min(idx, key=ys.__getitem__))
        keep.add(max(idx, key=ys.__getitem__))
    order = sorted(keep)
    return tuple(xs[i] for i in order), tuple(ys[i] for i in order)


@pytest.mark.parametrize(
    "count, max_points",
    [(1, 10), (10, 10), (11, 10), (1000, 7), (1000, 2), (3001, 224), (10_000, 240)],
)
def test_decimate_keeps_the_same_points_as_the_reference(count, max_points):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(count)
    # ties (repeated values) too: the first lowest and first highest are kept
    ys = [float(v) for v in rng.choice([0.5, 1.0, 2.0, 3.0], count) * rng.random(count).round(1)]
    xs = list(range(count))
    assert S.decimate(xs, ys, max_points) == _decimate_reference(xs, ys, max_points)


@pytest.mark.parametrize("smoothing", [0.0, 0.5, 0.9, 0.99, 0.999])
def test_ema_array_matches_ema(smoothing):
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(1)
    for x in (
        rng.random(5000) * 3,
        np.exp(rng.normal(0, 20, 3000)),
        np.array([4.0]),
        np.array([1e308, -1e308, 1.0] * 50),
    ):
        expected = np.array(S.ema(x.tolist(), smoothing))
        got = S.ema_array(x, smoothing)
        assert np.isfinite(got).all()
        assert np.max(np.abs(got - expected)) <= 1e-12 * np.max(np.abs(x))
    assert len(S.ema_array(np.array([]), 0.9)) == 0
    with pytest.raises(ValueError):
        S.ema_array(np.array([1.0]), 1.0)


def test_chart_arrays_agree_with_chart_points_and_take_tuples_with_none():
    np = pytest.importorskip("numpy")
    steps = tuple(range(3000))
    values = tuple(2.0 * math.exp(-i / 500) + (NAN if i % 97 == 0 else 0.0) for i in steps)
    for log, smoothing in ((True, None), (False, None), (True, 0.9)):
        xs, ys = S.chart_arrays(steps, values, 40, log=log, smoothing=smoothing)
        assert isinstance(xs, np.ndarray) and len(xs) == len(ys) <= 82
        assert S.chart_points(steps, values, 40, log=log, smoothing=smoothing) == (
            tuple(xs.tolist()),
            tuple(ys.tolist()),
        )
    # values that are not plain numbers take the checked path
    xs, ys = S.chart_arrays([1, 2, 3, 4], [1.0, None, "x", 2.0], 10)
    assert xs.tolist() == [1.0, 4.0] and ys.tolist() == [1.0, 2.0]


def test_nice_ticks_for_tiny_and_overflowing_ranges():
    assert S.nice_ticks(1e-20, 5e-20, 4) == (1e-20, 2e-20, 3e-20, 4e-20, 5e-20)
    assert S.nice_ticks(0.1, 0.7, 6) == (
        0.1,
        0.2,
        0.3,
        0.4,
        0.5,
        0.6,
        0.7,
    )  # no 0.30000000000000004
    assert S.nice_ticks(-1e308, 1e308, 5) == ()  # hi - lo overflows: no ticks, no error

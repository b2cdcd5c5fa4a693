"""tui.plot.series: what reaches a widget is finite, a tuple, and no longer than the widget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from naive import decimate_index as naive_decimate_index
from naive import ema as naive_ema

from tui.format import format_value
from tui.plot import series as S

NAN, INF = math.nan, math.inf


def test_finite_points_drops_nan_inf_none_and_keeps_pairs_aligned():
    xs, ys = S.finite_points([1, 2, 3, 4, 5, 6], [1.0, NAN, INF, -INF, 0.5, None])
    assert (xs, ys) == ((1.0, 5.0), (1.0, 0.5))
    assert isinstance(xs, tuple) and isinstance(ys, tuple)


def test_finite_points_empty():
    assert S.finite_points([], []) == ((), ())
    assert S.finite_points([1, 2], [NAN, INF]) == ((), ())


def test_finite_values_log10_and_numpy_input():
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


def test_decimate_index_keeps_ends_and_a_one_point_spike():
    ys = np.ones(10_000)
    ys[5_123] = 1e6  # a one-step loss spike
    index = S.decimate_index(ys, 100)
    assert len(index) <= 102
    assert index[0] == 0 and index[-1] == 9_999
    assert 5_123 in index
    assert list(index) == sorted(index)


def test_decimate_index_keeps_a_short_series_whole():
    assert S.decimate_index(np.array([4.0, 5.0, 6.0]), 100).tolist() == [0, 1, 2]


def test_ema_array_is_debiased():
    # Without the 1/(1 - s^t) correction the first value would be (1 - s) * x = 0.1 x.
    assert S.ema_array(np.array([5.0]), 0.9).tolist() == pytest.approx([5.0])
    assert S.ema_array(np.full(50, 3.0), 0.9).tolist() == pytest.approx([3.0] * 50)
    smoothed = S.ema_array(np.array([0.0, 10.0]), 0.5)
    assert smoothed[1] == pytest.approx((0.5 * 0.5 * 0.0 + 0.5 * 10.0) / (1 - 0.25))


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


def test_chart_arrays_log_and_smoothing():
    steps = list(range(100))
    values = [1.0, 0.0, -2.0, NAN] + [0.5] * 96
    xs, ys = S.chart_arrays(steps, values, width=10, log=True)
    assert (ys > 0).all() and len(xs) <= 20
    xs, ys = S.chart_arrays(steps, values, width=10, log=True, smoothing=0.9)
    assert ((ys > 0) & np.isfinite(ys)).all()
    xs, ys = S.chart_arrays([], [], width=10, log=True)
    assert len(xs) == len(ys) == 0


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
    assert format_value(value) == text


@pytest.mark.parametrize(
    "value, text",
    [(None, "—"), (NAN, "nan"), (-INF, "-inf"), (1234.5, "1,234.5"), (7, "7.0"), (0.0, "0.0")],
)
def test_format_value_with_a_format_spec(value, text):
    assert format_value(value, spec=",.1f") == text


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
    xs, ys = S.chart_arrays([1, 2, 3], [1e308, 1e-320, 1.0], width=10, log=True)
    assert ys.max() <= S.DRAW_LIMIT and ys.min() >= 1 / S.DRAW_LIMIT


# -- the chart's numpy path ------------------------------------------------------------


@pytest.mark.parametrize(
    "count, max_points",
    [(1, 10), (10, 10), (11, 10), (1000, 7), (1000, 2), (3001, 224), (10_000, 240)],
)
def test_decimate_index_keeps_the_same_points_as_the_naive_loop(count, max_points):
    rng = np.random.default_rng(count)
    # ties (repeated values) too: the first lowest and first highest are kept
    ys = rng.choice([0.5, 1.0, 2.0, 3.0], count) * rng.random(count).round(1)
    expected = naive_decimate_index(ys.tolist(), max_points)
    assert S.decimate_index(ys, max_points).tolist() == expected


@pytest.mark.parametrize("smoothing", [0.0, 0.5, 0.9, 0.99, 0.999])
def test_ema_array_matches_the_naive_loop(smoothing):
    rng = np.random.default_rng(1)
    for x in (
        rng.random(5000) * 3,
        np.exp(rng.normal(0, 20, 3000)),
        np.array([4.0]),
        np.array([1e308, -1e308, 1.0] * 50),
    ):
        expected = np.array(naive_ema(x.tolist(), smoothing))
        got = S.ema_array(x, smoothing)
        assert np.isfinite(got).all()
        assert np.max(np.abs(got - expected)) <= 1e-12 * np.max(np.abs(x))
    assert len(S.ema_array(np.array([]), 0.9)) == 0
    with pytest.raises(ValueError):
        S.ema_array(np.array([1.0]), 1.0)


def test_chart_arrays_take_tuples_with_nan_and_none():
    steps = tuple(range(3000))
    values = tuple(2.0 * math.exp(-i / 500) + (NAN if i % 97 == 0 else 0.0) for i in steps)
    for log, smoothing in ((True, None), (False, None), (True, 0.9)):
        xs, ys = S.chart_arrays(steps, values, 40, log=log, smoothing=smoothing)
        assert isinstance(xs, np.ndarray) and len(xs) == len(ys) <= 82
        assert np.isfinite(ys).all() and 0 not in xs  # step 0 held a NaN
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

"""tui.plot.chart: lines rasterised into braille dots, axes and ticks, with no Textual."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui.plot import chart as C

NAN, INF = math.nan, math.inf
TRAIN, VAL = (1, 2, 3), (4, 5, 6)  # style keys: any hashable


def text_of(picture: C.Picture) -> list[str]:
    return ["".join(text for text, _ in row) for row in picture.rows]


def style_at(picture: C.Picture, row: int, col: int):
    x = 0
    for text, style in picture.rows[row]:
        if x <= col < x + len(text):
            return style
        x += len(text)
    raise IndexError(col)


def lit(ch: str) -> int:
    """The dot pattern of a braille character (0 for a space)."""
    return ord(ch) - C.BRAILLE_BLANK if ch != " " else 0


# -- dots --------------------------------------------------------------------------


def test_line_dots_horizontal_vertical_diagonal():
    cols, rows = C.line_dots([0, 5], [2, 2])
    assert cols.tolist() == [0, 1, 2, 3, 4, 5] and rows.tolist() == [2] * 6
    cols, rows = C.line_dots([1, 1], [6, 0])
    assert cols.tolist() == [1] * 7 and rows.tolist() == [6, 5, 4, 3, 2, 1, 0]
    cols, rows = C.line_dots([0, 3], [0, 3])
    assert list(zip(cols.tolist(), rows.tolist())) == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_line_dots_are_connected_along_a_polyline():
    rng = np.random.default_rng(0)
    px, py = rng.uniform(0, 200, 50), rng.uniform(0, 80, 50)
    cols, rows = C.line_dots(px, py)
    steps = np.maximum(np.abs(np.diff(cols)), np.abs(np.diff(rows)))
    assert steps.max() <= 1  # every dot touches the next one (8-connected)
    assert (cols[0], rows[0]) == (round(px[0]), round(py[0]))
    assert (cols[-1], rows[-1]) == (round(px[-1]), round(py[-1]))


def test_line_dots_single_point_and_empty():
    cols, rows = C.line_dots([2.4], [3.6])
    assert cols.tolist() == [2] and rows.tolist() == [4]
    cols, rows = C.line_dots([], [])
    assert len(cols) == 0 and len(rows) == 0


def test_dot_grid_drops_dots_outside():
    grid = C.dot_grid(np.array([0, 3, -1, 4]), np.array([0, 1, 0, 9]), width=4, height=2)
    assert grid.shape == (2, 4)
    assert np.argwhere(grid).tolist() == [[0, 0], [1, 3]]


@pytest.mark.parametrize(
    "dots, code",
    [
        ([(0, 0)], 0x01),
        ([(1, 0)], 0x02),
        ([(2, 0)], 0x04),
        ([(3, 0)], 0x40),
        ([(0, 1)], 0x08),
        ([(1, 1)], 0x10),
        ([(2, 1)], 0x20),
        ([(3, 1)], 0x80),
        ([(r, 0) for r in range(4)], 0x47),  # ⡇ the left column
        ([(3, 0), (3, 1)], 0xC0),  # ⣀ the bottom row
        ([(r, c) for r in range(4) for c in range(2)], 0xFF),  # ⣿
        ([], 0),
    ],
)
def test_braille_codes_of_known_patterns(dots, code):
    grid = np.zeros((4, 2), dtype=bool)
    for r, c in dots:
        grid[r, c] = True
    assert C.braille_codes(grid).tolist() == [[code]]


def test_braille_chars_of_a_grid_of_cells_and_padding():
    def text(grid):
        return ["".join(map(chr, row)) for row in C.braille_chars(C.braille_codes(grid)).tolist()]

    grid = np.zeros((8, 4), dtype=bool)
    grid[0, 0] = True  # top-left cell: dot 1
    grid[7, 3] = True  # bottom-right cell: dot 8
    assert text(grid) == ["⠁ ", " ⢀"]  # an empty cell is a space, not U+2800
    odd = np.ones((5, 3), dtype=bool)  # not whole cells: padded with unlit dots
    assert text(odd) == ["⣿⡇", "⠉⠁"]


# -- the picture -------------------------------------------------------------------


def test_a_straight_line_lights_the_expected_corners():
    pic = C.render_chart([C.Trace([0.0, 10.0], [0.0, 10.0], TRAIN)], 40, 12)
    assert pic.plot is not None
    left, top, pw, ph = pic.plot
    lines = text_of(pic)
    # bottom-left dot of the plot and top-right dot of the plot
    assert lit(lines[ph - 1][left]) & 0x40
    assert lit(lines[0][left + pw - 1]) & 0x08
    assert style_at(pic, ph - 1, left) == TRAIN
    # connected: every column of the plot has a dot of the line
    assert all(any(lines[r][c] != " " for r in range(ph)) for c in range(left, left + pw))


def test_log_axis_puts_1e_minus_3_at_the_bottom_and_1e3_at_the_top():
    pic = C.render_chart([C.Trace([1, 2, 3], [1e-3, 1.0, 1e3], TRAIN)], 40, 14, log=True)
    assert pic.plot is not None
    left, _, pw, ph = pic.plot
    ticks = dict((label, row) for row, label in pic.y_ticks)
    assert ticks["1e-3"] == ph - 1 and ticks["1e3"] == 0
    # decades are evenly spaced: 1e-3, 1e-1, 1e1, 1e3 (every other power, for room)
    rows = [row for row, _ in pic.y_ticks]
    gaps = [a - b for a, b in zip(rows, rows[1:])]
    assert [label for _, label in pic.y_ticks] == ["1e-3", "1e-1", "1e1", "1e3"]
    assert max(gaps) - min(gaps) <= 1
    lines = text_of(pic)
    assert lines[ph - 1].startswith("1e-3┤") and lines[0].startswith(" 1e3┤")


def test_linear_axis_ticks_and_labels():
    pic = C.render_chart([C.Trace([0, 100], [0.0, 1.0], TRAIN)], 60, 20)
    labels = [label for _, label in pic.y_ticks]
    assert labels == ["0", "0.2", "0.4", "0.6", "0.8", "1"]
    assert [label for _, label in pic.x_ticks][:2] == ["0", "20"]
    assert "step" in text_of(pic)[-1]


@pytest.mark.parametrize("size", [(120, 40), (80, 24), (40, 12), (13, 6), (12, 5)])
@pytest.mark.parametrize("log", [True, False])
def test_ticks_are_inside_the_plot_and_labels_do_not_overlap(size, log):
    xs = np.arange(1, 5001, dtype=float)
    ys = 3.0 * np.exp(-xs / 800) + 1e-3
    pic = C.render_chart([C.Trace(xs, ys, TRAIN)], *size, log=log, legend=[("train", TRAIN)])
    assert pic.plot is not None
    left, top, pw, ph = pic.plot
    assert pic.y_ticks and pic.x_ticks
    assert all(top <= row < top + ph for row, _ in pic.y_ticks)
    assert all(left <= col < left + pw for col, _ in pic.x_ticks)
    axis_row = text_of(pic)[ph + 1]
    words = axis_row.split()
    assert words == [label for _, label in pic.x_ticks]  # none cut or run together


@pytest.mark.parametrize(
    "size",
    [(0, 0), (0, 5), (5, 0), (1, 1), (2, 1), (1, 3), (3, 2), (11, 4), (12, 5), (13, 12), (200, 3)],
)
def test_tiny_and_zero_sizes_fill_exactly_the_size(size):
    width, height = size
    for traces in ([C.Trace([1, 2, 3], [3.0, 1.0, 2.0], TRAIN)], []):
        pic = C.render_chart(
            traces,
            width,
            height,
            log=True,
            log_x=True,
            markers=[C.Marker(2, "grokked", "m", "g")],
            cursor_x=2,
            legend=[("train", TRAIN), ("val", VAL, C.DASHED)],
        )
        assert len(pic.rows) == height
        assert all(len(line) == width for line in text_of(pic))


@pytest.mark.parametrize(
    "traces",
    [
        [],
        [C.Trace([], [], TRAIN)],
        [C.Trace([1, 2, 3], [NAN, INF, -INF], TRAIN), C.Trace([NAN], [1.0], VAL)],
    ],
)
def test_no_finite_points_shows_the_message(traces):
    pic = C.render_chart(traces, 40, 10, log=False, empty_message="no loss yet")
    assert any("no loss yet" in line for line in text_of(pic))
    assert pic.plot is None


def test_log_axis_drops_values_that_are_not_positive():
    pic = C.render_chart([C.Trace([1, 2], [0.0, -3.0], TRAIN)], 40, 10, log=True)
    assert any("no data" in line for line in text_of(pic))
    pic = C.render_chart([C.Trace([1, 2, 3], [0.0, 2.0, 1.0], TRAIN)], 40, 10, log=True)
    assert pic.plot is not None


@pytest.mark.parametrize("log", [True, False])
def test_single_point_and_constant_series_sit_in_the_middle(log):
    for xs, ys in (([5], [2.0]), ([1, 2, 3, 4], [2.0] * 4)):
        pic = C.render_chart([C.Trace(xs, ys, TRAIN)], 40, 12, log=log)
        assert pic.plot is not None
        left, _, pw, ph = pic.plot
        lines = text_of(pic)
        rows = [r for r in range(ph) if lines[r][left:].strip(" ")]
        assert rows and all(abs(r - (ph - 1) / 2) <= 1 for r in rows)
        assert [label for _, label in pic.y_ticks] == ["2"]


@pytest.mark.parametrize("log", [True, False])
def test_huge_ranges_draw_without_overflow(log):
    for ys in ([1e-30, 1.0, 1e30], [1e-300, 1e300], [-1e308, 1.0, 1e308], [1e308, 1e308]):
        pic = C.render_chart([C.Trace(list(range(len(ys))), ys, TRAIN)], 60, 16, log=log)
        lines = text_of(pic)
        assert len(lines) == 16 and all(len(line) == 60 for line in lines)
    pic = C.render_chart([C.Trace([0, 1, 2], [1e-30, 1.0, 1e30], TRAIN)], 60, 16, log=True)
    labels = [label for _, label in pic.y_ticks]
    assert labels[0] == "1e-30" and labels[-1] == "1e30"


def test_later_trace_wins_a_shared_cell():
    xs, ys = [0, 1, 2], [1.0, 2.0, 3.0]
    pic = C.render_chart([C.Trace(xs, ys, TRAIN), C.Trace(xs, ys, VAL)], 40, 12)
    assert pic.plot is not None
    left, _, pw, ph = pic.plot
    styles = {
        style_at(pic, r, c)
        for r in range(ph)
        for c in range(left, left + pw)
        if text_of(pic)[r][c] not in " "
    }
    assert styles == {VAL}


def marker_columns(pic: C.Picture, style) -> set[int]:
    assert pic.plot is not None
    left, top, pw, ph = pic.plot
    return {
        c
        for r in range(top, top + ph)
        for c in range(left, left + pw)
        if style_at(pic, r, c) == style
    }


def test_markers_inside_the_x_range_get_a_dotted_line_and_a_label_above_the_plot():
    trace = C.Trace([0, 100], [1.0, 1.0], TRAIN)
    pic = C.render_chart([trace], 40, 12, markers=[C.Marker(50, "best val", "best")])
    assert pic.plot is not None
    left, top, pw, ph = pic.plot
    assert top == 1  # a row for the labels
    cols = marker_columns(pic, "best")
    assert len(cols) == 1 and abs(next(iter(cols)) - (left + pw / 2)) <= 1
    col = next(iter(cols))
    # dotted: dot rows 0 and 2 of each cell lit, so the curves stay readable through it
    rows = [r for r in range(top, top + ph) if style_at(pic, r, col) == "best"]
    assert len(rows) >= ph - 1  # the flat trace takes one cell
    patterns = {lit(text_of(pic)[r][col]) for r in rows}
    assert patterns <= {0x05, 0x28} and len(patterns) == 1
    assert pic.labels == [(0, col, "best val")]
    assert style_at(pic, 0, col) == "best"
    for outside in (-5, 150, NAN):
        pic = C.render_chart([trace], 40, 12, markers=[C.Marker(outside, "x", "best")])
        assert all(style != "best" for row in pic.rows for _, style in row)
        assert pic.plot is not None and pic.plot[1] == 0  # no label row without markers


def test_colliding_labels_are_shortened_then_dropped():
    spots = [(10, "grokked", "grok"), (12, "memorized", "mem"), (14, "lr 0.1→0.05", "lr↓")]
    assert C.place_labels(spots, 0, 40) == [(10, "grokked"), None, None]
    spots = [(10, "grokked", "grok"), (20, "memorized", "mem"), (25, "lr 0.1→0.05", "lr↓")]
    assert C.place_labels(spots, 0, 40) == [(10, "grokked"), (20, "memorized"), None]
    # placed first (more important), grokked leaves memorized room for its short label only
    spots = [(19, "grokked", "grok"), (10, "memorized", "mem")]
    assert C.place_labels(spots, 0, 40) == [(19, "grokked"), (10, "mem")]
    # at the right edge a label ends at its column instead of starting there
    assert C.place_labels([(39, "reset", "r")], 0, 40) == [(35, "reset")]
    # and so does one with a label just to its right (best val a few steps before converged)
    spots = [(20, "converged", "conv"), (18, "best val", "best")]
    assert C.place_labels(spots, 0, 40) == [(20, "converged"), (11, "best val")]
    spots = [(20, "converged", "conv"), (18, "best val", "best"), (12, "reset", "r")]
    assert C.place_labels(spots, 0, 40) == [(20, "converged"), (11, "best val"), None]
    pic = C.render_chart(
        [C.Trace([0, 100], [1.0, 2.0], TRAIN)],
        40,
        12,
        markers=[C.Marker(50, "grokked", "m", "grok"), C.Marker(70, "memorized", "m", "mem")],
    )
    assert [text for _, _, text in pic.labels] == ["grokked"]
    assert "╷" in text_of(pic)[0]  # the dropped label's marker still has its tick


def test_patterns_thin_a_line_and_the_legend_shows_their_glyphs():
    cols, rows = C.line_dots([0, 59], [0, 0])
    assert len(C.pattern_dots(cols, rows, C.SOLID)[0]) == 60
    dashed = C.pattern_dots(cols, rows, C.DASHED)[0]
    dotted = C.pattern_dots(cols, rows, C.DOTTED)[0]
    assert len(dashed) == 40 and len(dotted) == 20
    assert dashed[:5].tolist() == [0, 1, 2, 3, 6] and dotted[:3].tolist() == [0, 3, 6]
    xs = np.arange(100, dtype=float)
    pic = C.render_chart(
        [C.Trace(xs, xs, TRAIN), C.Trace(xs, xs + 50, VAL, C.DASHED)],
        60,
        16,
        legend=[("train", TRAIN), ("val", VAL, C.DASHED)],
    )
    runs = dict((text, style) for text, style in pic.rows[pic.legend[0]])  # type: ignore[index]
    assert runs.get("━ train") == TRAIN and runs.get("╍ val") == VAL


def test_log_x_axis_ticks_at_powers_of_ten():
    xs = np.array([0, 10, 100, 1000, 20000], dtype=float)
    pic = C.render_chart([C.Trace(xs, np.ones(5), TRAIN)], 80, 12, log_x=True)
    labels = [label for _, label in pic.x_ticks]
    assert labels[0] == "0" and "1000" in labels and "10k" in labels
    cols = dict((label, col) for col, label in pic.x_ticks)
    # equal ratios, equal distances: 10 -> 100 and 100 -> 1000 nearly the same width
    assert abs((cols["1000"] - cols["100"]) - (cols["100"] - cols["10"])) <= 1
    assert pic.column_of(100) == cols["100"]
    assert abs(pic.x_at(cols["1000"]) - 1000) / 1000 < 0.1  # type: ignore[operator]


def test_fixed_y_range_and_cursor_line():
    xs = np.arange(10, dtype=float)
    pic = C.render_chart(
        [C.Trace(xs, 0.4 + xs / 100, TRAIN)],
        40,
        12,
        y_range=(0.0, 1.0),
        cursor_x=5,
        cursor_style="c",
    )
    assert {label for _, label in pic.y_ticks} >= {"0", "1"}  # not 0.4-0.5
    assert pic.cursor is not None and marker_columns(pic, "c") == {pic.cursor}
    left, top, pw, ph = pic.plot  # type: ignore[misc]
    assert all(lit(text_of(pic)[r][pic.cursor]) for r in range(top, top + ph))  # solid


def test_a_narrow_legend_leaves_out_its_last_entries():
    xs = np.arange(10, dtype=float)
    legend = [("train", TRAIN), ("val", VAL), ("previous run", "g")]
    # four rows of plot: too few to stack three entries
    pic = C.render_chart([C.Trace(xs, xs, TRAIN)], 30, 6, legend=legend)
    row = "".join(text for text, _ in pic.rows[pic.legend[0]])  # type: ignore[index]
    assert "train" in row and "val" in row and "previous" not in row


def test_a_legend_too_wide_for_a_row_stacks_its_entries_where_the_plot_is_tall():
    xs = np.arange(10, dtype=float)
    legend = [("loss−floor", TRAIN), ("grad norm", VAL), ("predicted 0.9985/step", "p")]
    pic = C.render_chart([C.Trace(xs, -xs, TRAIN)], 36, 11, legend=legend, log=False)
    assert pic.legend is not None
    row, col = pic.legend
    assert row == pic.plot[1]  # type: ignore[index]  # top right: the curve falls from top left
    lines = text_of(pic)
    for i, (name, style) in enumerate(legend):
        runs = dict(pic.rows[row + i])
        assert runs.get(f"━ {name}") == style, lines[row + i]
        assert lines[row + i].index("━") == col + 1  # one entry a row, aligned


def test_legend_names_each_series_in_its_style_in_an_empty_corner():
    xs = np.arange(100, dtype=float)
    pic = C.render_chart(
        [C.Trace(xs, 10 - xs / 10, TRAIN), C.Trace(xs, 11 - xs / 10, VAL)],
        60,
        16,
        legend=[("train", TRAIN), ("val", VAL)],
    )
    assert pic.legend is not None and pic.plot is not None
    row, col = pic.legend
    assert row == 0 and col > pic.plot[0]  # top right: the falling curves start top left
    runs = dict((text, style) for text, style in pic.rows[row])
    assert runs.get("━ train") == TRAIN and runs.get("━ val") == VAL
    # too narrow for even one entry: none, and no error
    pic = C.render_chart([C.Trace(xs, xs, TRAIN)], 14, 8, legend=[("training", TRAIN)] * 3)
    assert pic.legend is None


def test_rows_are_runs_of_one_style():
    pic = C.render_chart([C.Trace([0, 1], [0.0, 1.0], TRAIN)], 30, 10, legend=[("train", TRAIN)])
    for row in pic.rows:
        assert all(text for text, _ in row)
        assert all(a[1] != b[1] for a, b in zip(row, row[1:]))  # neighbours differ

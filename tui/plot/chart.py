"""The loss chart's picture, without Textual: lines drawn in braille dots, axes, ticks.

A terminal cell holds one braille character, a grid of 2 x 4 dots, so a chart W cells
wide and H high has 2W x 4H dots. Each line is rasterised with numpy into a boolean dot
grid (every segment between consecutive points, so the curve is connected), the grid
is folded into one braille code per cell with a weighted sum, and the codes become text
with one numpy conversion. No per-dot Python loop: a 120 x 40 chart of two series
takes about a millisecond. Where two layers fall in one cell, the later one wins the
cell (its dots and its colour).

`render_chart` returns rows of (text, style key) runs. The keys are the traces' own
(any hashable the caller chooses, e.g. an RGB tuple) plus AXIS and LABEL; the widget
maps keys to styles. No textual or rich import: tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tui.format import format_value
from tui.plot import series as S

AXIS = "axis"  # style key of the frame, the tick marks and the "no data" message
LABEL = "label"  # style key of tick labels and the x label

BRAILLE_BLANK = 0x2800
SPACE = 0x20
# The bit of each dot of a braille cell (Unicode dots 1-8), by its row (0-3) and
# column (0-1) in the cell: dots 1, 2, 3 and 7 down the left, 4, 5, 6 and 8 the right.
DOT_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.uint8)

# Below these sizes (cells) the chart is dots only: no axes, ticks or labels.
MIN_AXES_WIDTH, MIN_AXES_HEIGHT = 12, 5
MIN_PLOT_WIDTH = 10  # y tick labels are dropped before the plot gets narrower than this
X_LABEL_HEIGHT = 12  # the x label ("step") has its own row from this height

Run = tuple[str, Hashable | None]
Row = list[Run]


@dataclass(frozen=True)
class Trace:
    """One polyline: points in data units, drawn in the style `style`."""

    xs: Sequence[float] | np.ndarray
    ys: Sequence[float] | np.ndarray
    style: Hashable


@dataclass
class Picture:
    """What render_chart drew: `rows` of runs, and where things went (for tests).

    plot: (left, top, width, height) of the dot area in cells, None when nothing was
    plotted; y_ticks / x_ticks: (row or column in cells, label) of each tick drawn.
    """

    rows: list[Row] = field(default_factory=list)
    plot: tuple[int, int, int, int] | None = None
    y_ticks: list[tuple[int, str]] = field(default_factory=list)
    x_ticks: list[tuple[int, str]] = field(default_factory=list)
    legend: tuple[int, int] | None = None  # (row, column) where the legend starts


# -- dots --------------------------------------------------------------------------


def line_dots(
    px: Sequence[float] | np.ndarray, py: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dot coordinates (cols, rows) lighting the polyline through (px, py), connected.

    Each segment is sampled at one point per dot along its longer side (both ends
    included), all segments at once: the samples are laid out in one array with
    np.repeat, then rounded to the nearest dot.
    """
    px = np.asarray(px, dtype=float)
    py = np.asarray(py, dtype=float)
    if len(px) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    if len(px) == 1:
        return np.rint(px).astype(np.intp), np.rint(py).astype(np.intp)
    x0, y0 = px[:-1], py[:-1]
    dx, dy = np.diff(px), np.diff(py)
    span = np.maximum(np.abs(np.rint(px[1:]) - np.rint(x0)), np.abs(np.rint(py[1:]) - np.rint(y0)))
    samples = span.astype(np.intp) + 1  # per segment, ends included
    segment = np.repeat(np.arange(len(samples)), samples)
    firsts = np.cumsum(samples) - samples
    t = (np.arange(len(segment)) - firsts[segment]) / np.maximum(samples - 1, 1)[segment]
    cols = np.rint(x0[segment] + dx[segment] * t).astype(np.intp)
    rows = np.rint(y0[segment] + dy[segment] * t).astype(np.intp)
    return cols, rows


def dot_grid(cols: np.ndarray, rows: np.ndarray, width: int, height: int) -> np.ndarray:
    """A (height, width) boolean grid with the given dots lit; dots outside are dropped."""
    grid = np.zeros((max(0, height), max(0, width)), dtype=bool)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    grid[rows[inside], cols[inside]] = True
    return grid


def braille_codes(grid: np.ndarray) -> np.ndarray:
    """(ceil(h/4), ceil(w/2)) braille dot patterns (0-255) of a boolean dot grid.

    The grid is padded to whole cells; then, for each of the 8 dot positions of a cell,
    the strided view of that dot in every cell is OR-ed in with its bit weight.
    """
    h, w = grid.shape
    ch, cw = -(-h // 4), -(-w // 2)
    if (h, w) != (4 * ch, 2 * cw):
        padded = np.zeros((4 * ch, 2 * cw), dtype=bool)
        padded[:h, :w] = grid
        grid = padded
    dots = np.ascontiguousarray(grid, dtype=bool).view(np.uint8)
    codes = np.zeros((ch, cw), dtype=np.uint8)
    for r in range(4):
        for c in range(2):
            codes |= dots[r::4, c::2] * DOT_BITS[r, c]
    return codes


def braille_chars(codes: np.ndarray) -> np.ndarray:
    """Code points for dot patterns: U+2800 + pattern, and a space for an empty cell
    (so that text drawn over the chart and the blank background look the same)."""
    codes = np.asarray(codes)
    return np.where(codes > 0, BRAILLE_BLANK + codes.astype(np.uint32), SPACE).astype(np.uint32)


# -- axes --------------------------------------------------------------------------


def is_flat(lo: float, hi: float) -> bool:
    """True when [lo, hi] is one value up to float resolution (nothing to scale)."""
    return hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1e-300)


def padded_range(lo: float, hi: float, *, log_space: bool = False) -> tuple[float, float]:
    """[lo, hi] itself, or around a single value a range it sits in the middle of: half
    a decade each side on a log axis (in log10 units), else 10% (1 around zero)."""
    if not is_flat(lo, hi):
        return lo, hi
    mid = (lo + hi) / 2
    pad = 0.5 if log_space else (abs(mid) * 0.1 or 1.0)
    return mid - pad, mid + pad


def to_dots(
    values: np.ndarray, lo: float, hi: float, dots: int, *, flip: bool = False
) -> np.ndarray:
    """Values in [lo, hi] as dot positions 0 .. dots-1 (floats), reversed if `flip`
    (screen rows grow downwards). Values outside are clamped to the ends."""
    frac = (np.asarray(values, dtype=float) - lo) / (hi - lo)
    frac = np.clip(np.where(np.isnan(frac), 0.5, frac), 0.0, 1.0)
    if flip:
        frac = 1.0 - frac
    return frac * (dots - 1)


def y_ticks(lo: float, hi: float, count: int, *, log: bool) -> list[tuple[float, str]]:
    """(position in axis units, label) of y ticks for data spanning [lo, hi] in axis
    units (log10 of the values on a log axis): S.log_ticks or S.nice_ticks."""
    if log:
        values, labels = S.log_ticks(10.0**lo, 10.0**hi, count)
        return [(math.log10(v), label) for v, label in zip(values, labels) if v > 0]
    if is_flat(lo, hi):
        return [((lo + hi) / 2, format_value((lo + hi) / 2, 3))]
    return [(t, format_value(t, 3)) for t in S.nice_ticks(lo, hi, count)]


def x_ticks(lo: float, hi: float, count: int) -> list[tuple[float, str]]:
    """(step, label) of x ticks: round step numbers labelled 950, 12.5k, 3M."""
    if is_flat(lo, hi):
        return [((lo + hi) / 2, S.format_step((lo + hi) / 2))]
    return [(t, S.format_step(t)) for t in S.nice_ticks(lo, hi, count)]


# -- the picture -------------------------------------------------------------------


class Canvas:
    """A grid of code points and style indices, turned into runs at the end."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.chars = np.full((height, width), SPACE, dtype=np.uint32)
        self.styles = np.zeros((height, width), dtype=np.int16)
        self.keys: list[Hashable | None] = [None]

    def key(self, style: Hashable | None) -> int:
        try:
            return self.keys.index(style)
        except ValueError:
            self.keys.append(style)
            return len(self.keys) - 1

    def put(self, row: int, col: int, text: str, style: Hashable | None) -> None:
        """Write `text` from (row, col), cut at the edges."""
        if not 0 <= row < self.height or not text:
            return
        codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        start, end = max(col, 0), min(col + len(codes), self.width)
        if start >= end:
            return
        self.chars[row, start:end] = codes[start - col : end - col]
        self.styles[row, start:end] = self.key(style)

    def rows(self) -> list[Row]:
        h, w = self.height, self.width
        if h == 0 or w == 0:
            return [[] for _ in range(h)]
        text = self.chars.astype("<u4").tobytes().decode("utf-32-le")
        change = np.ones((h, w), dtype=bool)
        change[:, 1:] = self.styles[:, 1:] != self.styles[:, :-1]
        out: list[Row] = [[] for _ in range(h)]
        starts_r, starts_c = np.nonzero(change)
        keys = self.keys
        styles = self.styles
        for r, c, c_next, r_next in zip(
            starts_r.tolist(),
            starts_c.tolist(),
            np.append(starts_c[1:], w).tolist(),
            np.append(starts_r[1:], h).tolist(),
        ):
            end = c_next if r_next == r else w
            base = r * w
            out[r].append((text[base + c : base + end], keys[styles[r, c]]))
        return out


def render_chart(
    traces: Sequence[Trace],
    width: int,
    height: int,
    *,
    log: bool = False,
    marker_x: float | None = None,
    marker_style: Hashable | None = AXIS,
    legend: Sequence[tuple[str, Hashable]] = (),
    x_label: str | None = "step",
    empty_message: str = "no data yet",
) -> Picture:
    """Draw `traces` (later ones over earlier ones) in a width x height cell grid.

    Left: y tick labels and the y axis; bottom: the x axis, x tick labels and, from
    X_LABEL_HEIGHT rows, `x_label`. log: a log10 y axis (values <= 0 are dropped).
    marker_x: a vertical line of dots at that x, when strictly inside the data's
    x range. legend: (name, style) pairs, written in the plot's emptiest corner.
    Never raises on empty, single-point, constant or non-finite data or on tiny sizes.
    """
    width, height = max(0, int(width)), max(0, int(height))
    picture = Picture()
    if width == 0 or height == 0:
        picture.rows = [[] for _ in range(height)]
        return picture
    canvas = Canvas(width, height)

    # Clean points, in axis units (log10 of y on a log axis).
    lines: list[tuple[np.ndarray, np.ndarray, Hashable]] = []
    for trace in traces:
        xs = np.asarray(trace.xs, dtype=float).ravel()
        ys = np.asarray(trace.ys, dtype=float).ravel()
        n = min(len(xs), len(ys))
        xs, ys = xs[:n], ys[:n]
        keep = np.isfinite(xs) & np.isfinite(ys)
        if log:
            keep &= ys > 0
        xs = np.clip(xs[keep], -S.DRAW_LIMIT, S.DRAW_LIMIT)
        ys = np.clip(ys[keep], -S.DRAW_LIMIT, S.DRAW_LIMIT)
        if log:
            ys = np.log10(np.maximum(ys, 1.0 / S.DRAW_LIMIT))
        if len(xs):
            lines.append((xs, ys, trace.style))
    if not lines:
        message = empty_message[:width]
        canvas.put(height // 2, (width - len(message)) // 2, message, AXIS)
        picture.rows = canvas.rows()
        return picture

    all_x = np.concatenate([xs for xs, _, _ in lines])
    all_y = np.concatenate([ys for _, ys, _ in lines])
    x_lo, x_hi = float(all_x.min()), float(all_x.max())
    y_lo, y_hi = float(all_y.min()), float(all_y.max())
    px_lo, px_hi = padded_range(x_lo, x_hi)
    py_lo, py_hi = padded_range(y_lo, y_hi, log_space=log)

    # Layout: rows for the x axis below, columns for the y labels on the left.
    axes = width >= MIN_AXES_WIDTH and height >= MIN_AXES_HEIGHT
    bottom = (3 if x_label and height >= X_LABEL_HEIGHT else 2) if axes else 0
    ph = height - bottom
    yt: list[tuple[float, str]] = []
    label_w = 0
    if axes:
        slack = 1e-9 * (py_hi - py_lo)
        yt = [
            (v, lab)
            for v, lab in y_ticks(y_lo, y_hi, max(3, ph // 3), log=log)
            if py_lo - slack <= v <= py_hi + slack
        ]
        label_w = max((len(lab) for _, lab in yt), default=0)
        if width - label_w - 1 < MIN_PLOT_WIDTH:
            label_w = 0  # no room for labels: the axis alone
    left = label_w + 1 if axes else 0
    pw = width - left
    dots_w, dots_h = 2 * pw, 4 * ph
    picture.plot = (left, 0, pw, ph)

    def dots_x(values):
        return to_dots(values, px_lo, px_hi, dots_w)

    def dots_y(values):
        return to_dots(values, py_lo, py_hi, dots_h, flip=True)

    # Layers, first drawn first: the marker line, then each trace.
    layers: list[tuple[np.ndarray, np.ndarray, Hashable]] = []
    if marker_x is not None and S.is_finite(marker_x) and x_lo < marker_x < x_hi:
        col = int(np.rint(dots_x([marker_x])[0]))
        rows = np.arange(dots_h)
        layers.append((np.full(dots_h, col), rows, marker_style))
    for xs, ys, style in lines:
        cols, rows = line_dots(dots_x(xs), dots_y(ys))
        layers.append((cols, rows, style))
    codes = np.zeros((ph, pw), dtype=np.uint8)
    owner = np.zeros((ph, pw), dtype=np.int16)
    for cols, rows, style in layers:
        layer = braille_codes(dot_grid(cols, rows, dots_w, dots_h))
        lit = layer > 0
        codes[lit] = layer[lit]
        owner[lit] = canvas.key(style)
    canvas.chars[:ph, left:] = braille_chars(codes)
    canvas.styles[:ph, left:] = owner

    if axes:
        _draw_axes(
            canvas,
            picture,
            yt,
            dots_y,
            dots_x,
            left,
            label_w,
            ph,
            pw,
            (x_lo, x_hi),
            x_label if bottom == 3 else None,
        )
    if legend:
        _draw_legend(canvas, picture, legend, codes, left, ph, pw)
    picture.rows = canvas.rows()
    return picture


def _draw_axes(
    canvas: Canvas,
    picture: Picture,
    yt,
    dots_y,
    dots_x,
    left: int,
    label_w: int,
    ph: int,
    pw: int,
    x_range: tuple[float, float],
    x_label: str | None,
) -> None:
    axis = left - 1
    canvas.chars[:ph, axis] = ord("│")
    canvas.styles[:ph, axis] = canvas.key(AXIS)
    canvas.put(ph, axis, "└" + "─" * pw, AXIS)

    used_rows: set[int] = set()
    rows = (np.rint(dots_y([v for v, _ in yt])).astype(int) // 4).tolist() if yt else []
    for row, (_, label) in zip(rows, yt):
        if not 0 <= row < ph or row in used_rows:
            continue
        used_rows.add(row)
        canvas.put(row, axis, "┤", AXIS)
        if label_w:
            canvas.put(row, label_w - len(label), label, LABEL)
        picture.y_ticks.append((row, label))

    x_lo, x_hi = x_range
    label_end = -1  # first column after the last label written
    xt = x_ticks(x_lo, x_hi, max(3, pw // 10))
    cols = (left + np.rint(dots_x([v for v, _ in xt])).astype(int) // 2).tolist() if xt else []
    for col, (_, label) in zip(cols, xt):
        if not left <= col < left + pw:
            continue
        start = min(max(col - len(label) // 2, 0), canvas.width - len(label))
        if start <= label_end:
            continue  # would touch the previous label
        canvas.put(ph, col, "┬", AXIS)
        canvas.put(ph + 1, start, label, LABEL)
        label_end = start + len(label)
        picture.x_ticks.append((col, label))
    if x_label:
        canvas.put(ph + 2, left + (pw - len(x_label)) // 2, x_label, LABEL)


def _draw_legend(
    canvas: Canvas, picture: Picture, legend, codes: np.ndarray, left: int, ph: int, pw: int
) -> None:
    """`━ name` for each entry, in its style, in the corner of the plot with the fewest
    lit cells (top right first: a loss curve starts top left and falls)."""
    for gap in ("  ", " "):
        parts = [f"━ {name}" for name, _ in legend]
        length = sum(map(len, parts)) + len(gap) * (len(parts) - 1) + 2  # 1 blank each side
        if length <= pw:
            break
    else:
        return
    corners = [(0, pw - length), (0, 0), (ph - 1, pw - length), (ph - 1, 0)]
    row, col = min(
        corners, key=lambda rc: int(np.count_nonzero(codes[rc[0], rc[1] : rc[1] + length]))
    )
    canvas.put(row, left + col, " " * length, None)
    x = left + col + 1
    for (_name, style), part in zip(legend, parts):
        canvas.put(row, x, part, style)
        x += len(part) + len(gap)
    picture.legend = (row, left + col)

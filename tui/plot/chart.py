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
MIN_LABELS_HEIGHT = 8  # marker labels get a row above the plot from this height

Run = tuple[str, Hashable | None]
Row = list[Run]


# Line patterns: which dots of a line stay lit, counted along it (after dropping repeats),
# so that traces differ in shape as well as colour (NO_COLOR strips the colour). The
# legend shows each with a box-drawing glyph of the same look.
SOLID, DASHED, DOTTED = "solid", "dashed", "dotted"
PATTERNS = {SOLID: (1,), DASHED: (1, 1, 1, 1, 0, 0), DOTTED: (1, 0, 0)}
GLYPHS = {SOLID: "━", DASHED: "╍", DOTTED: "┈"}


@dataclass(frozen=True)
class Trace:
    """One polyline: points in data units, drawn in the style `style` and `pattern`."""

    xs: Sequence[float] | np.ndarray
    ys: Sequence[float] | np.ndarray
    style: Hashable
    pattern: str = SOLID


@dataclass(frozen=True)
class Marker:
    """An event at step `x`: a dotted vertical line, and `label` in the row above the
    plot (`short` where the label would collide, nothing where that would too).
    Markers are placed in the order given: put the important ones first."""

    x: float
    label: str
    style: Hashable
    short: str = ""


@dataclass
class Picture:
    """What render_chart drew: `rows` of runs, and where things went (for tests).

    plot: (left, top, width, height) of the dot area in cells, None when nothing was
    plotted; y_ticks / x_ticks: (row or column in cells, label) of each tick drawn;
    labels: (row, column, text) of each marker label written; x_axis: how columns map to
    steps (see x_at and column_of).
    """

    rows: list[Row] = field(default_factory=list)
    plot: tuple[int, int, int, int] | None = None
    y_ticks: list[tuple[int, str]] = field(default_factory=list)
    x_ticks: list[tuple[int, str]] = field(default_factory=list)
    legend: tuple[int, int] | None = None  # (row, column) where the legend starts
    labels: list[tuple[int, int, str]] = field(default_factory=list)
    cursor: int | None = None  # the column of the cursor line
    x_axis: tuple[float, float, bool] | None = None  # (lo, hi) in axis units, log x

    def x_at(self, column: int) -> float | None:
        """The step at the middle of a plot column (None before anything was plotted)."""
        if self.plot is None or self.x_axis is None:
            return None
        left, _, pw, _ = self.plot
        lo, hi, log_x = self.x_axis
        frac = (2 * (column - left) + 0.5) / max(1, 2 * pw - 1)
        return from_x_axis(lo + min(max(frac, 0.0), 1.0) * (hi - lo), log_x)

    def column_of(self, x: float) -> int | None:
        """The plot column step `x` falls in (clamped to the plot)."""
        if self.plot is None or self.x_axis is None or not S.is_finite(x):
            return None
        left, _, pw, _ = self.plot
        lo, hi, log_x = self.x_axis
        dot = to_dots(np.array([to_x_axis(x, log_x)]), lo, hi, 2 * pw)[0]
        return left + int(np.rint(dot)) // 2


def to_x_axis(x, log_x: bool):
    """Steps in axis units: log10(1 + step) on a log x axis (step 0 is the run's start)."""
    if not log_x:
        return x
    return np.log10(1.0 + np.maximum(np.asarray(x, dtype=float), 0.0))


def from_x_axis(u: float, log_x: bool) -> float:
    return 10.0**u - 1.0 if log_x else u


def pattern_dots(cols: np.ndarray, rows: np.ndarray, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """The dots of a line that `pattern` keeps, counted along the line's distinct dots."""
    keep_every = PATTERNS.get(pattern, PATTERNS[SOLID])
    if len(keep_every) == 1 or len(cols) == 0:
        return cols, rows
    new = np.ones(len(cols), dtype=bool)
    new[1:] = (cols[1:] != cols[:-1]) | (rows[1:] != rows[:-1])
    cols, rows = cols[new], rows[new]
    on = np.array(keep_every, dtype=bool)[np.arange(len(cols)) % len(keep_every)]
    return cols[on], rows[on]


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


def x_ticks(lo: float, hi: float, count: int, *, log_x: bool = False) -> list[tuple[float, str]]:
    """(position in axis units, label) of x ticks: round step numbers labelled 950, 12.5k,
    3M; on a log x axis (lo, hi in log10(1 + step)) 0 and the powers of ten between."""
    if log_x:
        top = math.floor(hi + 1e-9)
        stride = max(1, math.ceil((top + 1) / max(1, count)))
        steps = [0.0] + [10.0**e for e in range(stride, top + 1, stride)]
        if top >= 1 and stride > 1:
            steps.insert(1, 10.0)
        ticks = [(float(to_x_axis(t, True)), S.format_step(t)) for t in steps]
        return [(u, label) for u, label in ticks if lo - 1e-9 <= u <= hi + 1e-9]
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
    log_x: bool = False,
    y_range: tuple[float, float] | None = None,
    markers: Sequence[Marker] = (),
    cursor_x: float | None = None,
    cursor_style: Hashable | None = AXIS,
    legend: Sequence[tuple[str, Hashable] | tuple[str, Hashable, str]] = (),
    x_label: str | None = "step",
    empty_message: str = "no data yet",
) -> Picture:
    """Draw `traces` (later ones over earlier ones) in a width x height cell grid.

    Left: y tick labels and the y axis; bottom: the x axis, x tick labels and, from
    X_LABEL_HEIGHT rows, `x_label`. log: a log10 y axis (values <= 0 are dropped); log_x:
    a log10(1 + step) x axis. y_range: a fixed y range in data units (accuracy's 0-1)
    that the data widen if they leave it. markers: dotted vertical lines at their steps
    (those inside the data's x range), labelled in a row above the plot. cursor_x: a
    solid vertical line at that step, over the traces. legend: (name, style[, pattern])
    entries, written in the plot's emptiest corner.
    Never raises on empty, single-point, constant or non-finite data or on tiny sizes.
    """
    width, height = max(0, int(width)), max(0, int(height))
    picture = Picture()
    if width == 0 or height == 0:
        picture.rows = [[] for _ in range(height)]
        return picture
    canvas = Canvas(width, height)

    # Clean points, in axis units (log10 of y on a log axis, of 1 + x on a log x axis).
    lines: list[tuple[np.ndarray, np.ndarray, Hashable, str]] = []
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
            lines.append((np.asarray(to_x_axis(xs, log_x), dtype=float), ys, trace.style,
                          trace.pattern))  # fmt: skip
    if not lines:
        message = empty_message[:width]
        canvas.put(height // 2, (width - len(message)) // 2, message, AXIS)
        picture.rows = canvas.rows()
        return picture

    all_x = np.concatenate([xs for xs, _, _, _ in lines])
    all_y = np.concatenate([ys for _, ys, _, _ in lines])
    x_lo, x_hi = float(all_x.min()), float(all_x.max())
    y_lo, y_hi = float(all_y.min()), float(all_y.max())
    if y_range is not None and not log:
        y_lo, y_hi = min(y_lo, y_range[0]), max(y_hi, y_range[1])
    px_lo, px_hi = padded_range(x_lo, x_hi)
    py_lo, py_hi = padded_range(y_lo, y_hi, log_space=log)
    picture.x_axis = (px_lo, px_hi, log_x)

    # Layout: rows for the x axis below, a row of marker labels above (when there are
    # markers and room), columns for the y labels on the left.
    axes = width >= MIN_AXES_WIDTH and height >= MIN_AXES_HEIGHT
    bottom = (3 if x_label and height >= X_LABEL_HEIGHT else 2) if axes else 0
    inside = [m for m in markers if S.is_finite(m.x) and x_lo <= to_x_axis(m.x, log_x) <= x_hi]
    top = 1 if inside and axes and height >= MIN_LABELS_HEIGHT else 0
    ph = height - bottom - top
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
    picture.plot = (left, top, pw, ph)

    def dots_x(values):
        return to_dots(values, px_lo, px_hi, dots_w)

    def dots_y(values):
        return to_dots(values, py_lo, py_hi, dots_h, flip=True)

    def column(x: float) -> int:
        return int(np.rint(dots_x([to_x_axis(x, log_x)])[0]))

    # Layers, first drawn first: the markers' dotted lines, then each trace; the cursor
    # is added on top without hiding the dots under it.
    layers: list[tuple[np.ndarray, np.ndarray, Hashable]] = []
    every_other = np.arange(0, dots_h, 2)
    for marker in inside:
        layers.append((np.full(len(every_other), column(marker.x)), every_other, marker.style))
    for xs, ys, style, pattern in lines:
        cols, rows = pattern_dots(*line_dots(dots_x(xs), dots_y(ys)), pattern)
        layers.append((cols, rows, style))
    codes = np.zeros((ph, pw), dtype=np.uint8)
    owner = np.zeros((ph, pw), dtype=np.int16)
    for cols, rows, style in layers:
        layer = braille_codes(dot_grid(cols, rows, dots_w, dots_h))
        lit = layer > 0
        codes[lit] = layer[lit]
        owner[lit] = canvas.key(style)
    if cursor_x is not None and S.is_finite(cursor_x):
        col = min(max(column(cursor_x), 0), dots_w - 1)
        layer = braille_codes(dot_grid(np.full(dots_h, col), np.arange(dots_h), dots_w, dots_h))
        lit = layer > 0
        codes[lit] |= layer[lit]
        owner[lit] = canvas.key(cursor_style)
        picture.cursor = left + col // 2
    canvas.chars[top : top + ph, left:] = braille_chars(codes)
    canvas.styles[top : top + ph, left:] = owner

    if axes:
        _draw_axes(
            canvas,
            picture,
            yt,
            dots_y,
            dots_x,
            left,
            label_w,
            top,
            ph,
            pw,
            (x_lo, x_hi),
            log_x,
            x_label if bottom == 3 else None,
        )
    if top:
        spots = [(left + column(m.x) // 2, m) for m in inside]
        _draw_labels(canvas, picture, spots, left, pw)
    if legend:
        _draw_legend(canvas, picture, legend, codes, left, top, ph, pw)
    picture.rows = canvas.rows()
    return picture


def place_labels(
    spots: Sequence[tuple[int, str, str]], lo: int, hi: int
) -> list[tuple[int, str] | None]:
    """Where each (column, label, short) goes in the columns [lo, hi): (start column,
    text), or None when neither the label nor the short one fits without touching a label
    placed before it (one blank between labels). A label starts at its column (ends there
    when it would run past hi), else the short one does; where neither fits against the
    labels placed, they are tried ending at the column."""
    taken: list[tuple[int, int]] = []
    out: list[tuple[int, str] | None] = []
    for col, label, short in spots:
        texts = list(dict.fromkeys(t for t in (label, short) if t))
        ends = [(col - len(t) + 1, t) for t in texts]
        starts = [(col, t) if col + len(t) <= hi else end for t, end in zip(texts, ends)]
        tries = list(dict.fromkeys(starts + ends))
        placed = None
        for start, text in tries:
            end = start + len(text)
            if start < lo or end > hi:
                continue
            if all(end + 1 <= a or b + 1 <= start for a, b in taken):
                placed = (start, text)
                taken.append((start, end))
                break
        out.append(placed)
    return out


def _draw_labels(canvas: Canvas, picture: Picture, spots, left: int, pw: int) -> None:
    """Marker labels in the row above the plot, in their markers' styles; a ╷ at the
    column of each marker whose label is dropped."""
    places = place_labels([(col, m.label, m.short) for col, m in spots], left, left + pw)
    for (col, marker), place in zip(spots, places):
        if place is None:
            if canvas.chars[0, col] == SPACE:
                canvas.put(0, col, "╷", marker.style)
            continue
        start, text = place
        canvas.put(0, start, text, marker.style)
        picture.labels.append((0, start, text))


def _draw_axes(
    canvas: Canvas,
    picture: Picture,
    yt,
    dots_y,
    dots_x,
    left: int,
    label_w: int,
    top: int,
    ph: int,
    pw: int,
    x_range: tuple[float, float],
    log_x: bool,
    x_label: str | None,
) -> None:
    axis = left - 1
    bottom = top + ph
    canvas.chars[top:bottom, axis] = ord("│")
    canvas.styles[top:bottom, axis] = canvas.key(AXIS)
    canvas.put(bottom, axis, "└" + "─" * pw, AXIS)

    used_rows: set[int] = set()
    rows = (np.rint(dots_y([v for v, _ in yt])).astype(int) // 4).tolist() if yt else []
    for row, (_, label) in zip(rows, yt):
        if not 0 <= row < ph or row in used_rows:
            continue
        used_rows.add(row)
        canvas.put(top + row, axis, "┤", AXIS)
        if label_w:
            canvas.put(top + row, label_w - len(label), label, LABEL)
        picture.y_ticks.append((top + row, label))

    x_lo, x_hi = x_range
    label_end = -1  # first column after the last label written
    xt = x_ticks(x_lo, x_hi, max(3, pw // 10), log_x=log_x)
    cols = (left + np.rint(dots_x([v for v, _ in xt])).astype(int) // 2).tolist() if xt else []
    for col, (_, label) in zip(cols, xt):
        if not left <= col < left + pw:
            continue
        start = min(max(col - len(label) // 2, 0), canvas.width - len(label))
        if start <= label_end:
            continue  # would touch the previous label
        canvas.put(bottom, col, "┬", AXIS)
        canvas.put(bottom + 1, start, label, LABEL)
        label_end = start + len(label)
        picture.x_ticks.append((col, label))
    if x_label:
        canvas.put(bottom + 2, left + (pw - len(x_label)) // 2, x_label, LABEL)


def _draw_legend(
    canvas: Canvas, picture: Picture, legend, codes: np.ndarray, left: int, top: int, ph: int,
    pw: int,
) -> None:  # fmt: skip
    """`━ name` for each entry (the glyph of its pattern), in its style, in the corner of
    the plot with the fewest lit cells (top right first: a loss curve starts top left
    and falls). On one row; where that is too narrow, one entry a row (when the plot is
    at least twice as tall as the entries), else the last entries are left out."""
    every = [(e[0], e[1], e[2] if len(e) > 2 else SOLID) for e in legend]
    parts = [f"{GLYPHS.get(p, GLYPHS[SOLID])} {name}" for name, _, p in every]
    # (entries, their rows and columns in the block, block height, block width)
    layouts = [
        (n, [(0, 1 + sum(map(len, parts[:i])) + len(gap) * i) for i in range(n)], 1, width)
        for n in range(len(every), 0, -1)
        for gap in ("  ", " ")
        for width in [sum(map(len, parts[:n])) + len(gap) * (n - 1) + 2]  # a blank each side
    ]
    stacked = (
        len(every),
        [(i, 1) for i in range(len(every))],
        len(every),
        max(map(len, parts)) + 2,
    )
    if len(every) > 1 and 2 * len(every) <= ph:
        layouts.insert(2, stacked)  # after the whole row, before leaving entries out
    found = next(((n, at, h, w) for n, at, h, w in layouts if w <= pw), None)
    if found is None:
        return
    n, at, height, length = found
    corners = [(0, pw - length), (0, 0), (ph - height, pw - length), (ph - height, 0)]
    row, col = min(
        corners,
        key=lambda rc: int(np.count_nonzero(codes[rc[0] : rc[0] + height, rc[1] : rc[1] + length])),
    )
    for r in range(height):
        canvas.put(top + row + r, left + col, " " * length, None)
    for (_name, style, _pattern), part, (r, c) in zip(every[:n], parts, at):
        canvas.put(top + row + r, left + col + c, part, style)
    picture.legend = (top + row, left + col)

"""The data view's pictures, without Textual: a DataView (engine/training/dataview.py) as
rows of (text, style key) runs, like tui/plot/chart.py's.

- plane: a half-block heatmap, `▀` with a foreground (the upper pixel) and a background
  (the lower one), so a cell holds two square-ish pixels; each pixel coloured by the
  predicted class, its confidence as lightness (pale at chance, saturated when sure).
  The points go over it: training `●▲◆■`, validation `○△◇□` (by class, in the class's
  full colour), a training label flipped by label noise `×`.
- curve and scatter: braille lines (the fit solid, the true function or the diagonal
  dashed) with the points over them as `●` (train) and `○` (val), or as braille dots when
  there are too many for glyphs.
- table: the p x p pairs (a down, b across) as half-block pixels, each pixel a block of
  ka x kb pairs when the table is larger than the view (the legend says the block size):
  its colour its validation pairs' share right (red to green), tinted by its training
  pairs (right blue, wrong purple); the test pairs are not shown.

Without colour (NO_COLOR) the same pictures use glyphs: the plane's classes as shades
(` ░▒▓`), the table's validation accuracy per cell as ` ░▒▓█`.

Style keys: a role (TRAIN, VAL, FIT, TRUTH, AXIS, LABEL, None), or a Paint (foreground and
background RGB) for the coloured pixels; the widget maps them to styles.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from engine.training.dataview import CURVE, PLANE, SCATTER, TABLE, DataView, Scene
from tui.format import format_value
from tui.plot import chart
from tui.plot import series as S

TRAIN, VAL, FIT, TRUTH, FLIPPED = "train", "val", "fit", "truth", "flipped"
AXIS, LABEL = chart.AXIS, chart.LABEL
ROLES = (TRAIN, VAL, FIT, TRUTH, FLIPPED)

HALF = "▀"
TRAIN_SHAPES = "●▲◆■★"
VAL_SHAPES = "○△◇□☆"
FLIPPED_GLYPH = "×"
CLASS_SHADES = " ░▒▓"  # NO_COLOR: the plane's predicted class, for up to four classes
ACCURACY_SHADES = " ░▒▓█"  # NO_COLOR: the share of a table cell's val pairs that are right

# Class hues (a colour-blind-safe start: blue, orange), then more for many classes.
CLASS_COLOURS = (
    (64, 150, 255),
    (255, 140, 40),
    (90, 200, 90),
    (220, 90, 210),
    (230, 210, 60),
    (80, 210, 210),
)
BACKGROUND = (22, 22, 26)  # what the heatmap fades to at chance
LIGHT_MIN, LIGHT_MAX = 0.10, 0.50  # share of the class colour at chance and when certain
NOT_SHOWN = (44, 44, 50)  # table pixels without a train or val pair
PAIR_COLOURS = {  # table: (split, right)
    (2, True): (60, 200, 90),
    (2, False): (210, 55, 55),
    (1, True): (80, 140, 255),
    (1, False): (130, 80, 170),
}
TRAIN_TINT = 0.5  # table: how far a pixel's training pairs pull its colour their way
GLYPHS_PER_CELLS = 6  # points as glyphs while at most one per this many plot cells


class Paint(NamedTuple):
    fg: tuple[int, int, int] | None
    bg: tuple[int, int, int] | None


Run = tuple[str, Hashable | None]


@dataclass
class DataPicture:
    rows: list[list[Run]] = field(default_factory=list)
    plot: tuple[int, int, int, int] | None = None  # left, top, width, height (cells)
    legend: Sequence[Run] = ()  # the bottom row: (text, style) parts

    @property
    def text(self) -> str:
        return "\n".join("".join(t for t, _ in row) for row in self.rows)


class _Canvas(chart.Canvas):
    """chart.Canvas with style keys found by hashing: a heatmap has a key per cell."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height)
        self._index: dict = {None: 0}

    def key(self, style: Hashable | None) -> int:
        found = self._index.get(style)
        if found is None:
            found = self._index[style] = len(self.keys)
            self.keys.append(style)
        return found

    def pixels(self, row: int, left: int, fg: np.ndarray, bg: np.ndarray) -> None:
        """A row of half-blocks, upper pixels fg and lower ones bg (n x 3 RGB each)."""
        n = min(len(fg), self.width - left)
        self.chars[row, left : left + n] = ord(HALF)
        self.styles[row, left : left + n] = [
            self.key(Paint(tuple(f), tuple(b)))  # type: ignore[arg-type]
            for f, b in zip(fg[:n].tolist(), bg[:n].tolist())
        ]


def class_colour(k: int) -> tuple[int, int, int]:
    if k < len(CLASS_COLOURS):
        return CLASS_COLOURS[k]
    hue = (k * 0.618034) % 1.0  # further classes: golden-ratio hues
    r, g, b = (0.5 + 0.5 * math.cos(2 * math.pi * (hue + s / 3)) for s in range(3))
    return int(60 + 180 * r), int(60 + 180 * g), int(60 + 180 * b)


# -- what the engine should compute for a size -----------------------------------------


def plane_layout(scene: Scene, width: int, height: int) -> tuple[int, int]:
    """(nx, ny) pixels of a plane that fits width x (height - 1) cells (a legend row below)
    with square pixels (a half-block is about as tall as it is wide); ny is even."""
    rows = max(1, height - 1)
    w_d = scene.x_range[1] - scene.x_range[0]
    h_d = scene.y_range[1] - scene.y_range[0]
    aspect = w_d / h_d if h_d > 0 and w_d > 0 else 1.0
    ny = 2 * rows
    nx = round(ny * aspect)
    if nx > width:
        nx = max(1, width)
        ny = max(2, 2 * round(nx / aspect / 2))
    return max(1, nx), max(2, ny)


def resolution_for(scene: Scene | None, width: int, height: int) -> tuple[int, int]:
    """The grid resolution to ask the engine for, drawn at width x height cells."""
    width, height = max(1, width), max(2, height)
    if scene is None:
        return width, 2 * height
    if scene.kind == PLANE:
        return plane_layout(scene, width, height)
    if scene.kind == CURVE:
        return 2 * width, 1  # a braille dot column each
    return 1, 1  # the table and the scatter use the data's own rows


# -- drawing ------------------------------------------------------------------------


def render_view(
    view: DataView | None, width: int, height: int, *, color: bool = True
) -> DataPicture:
    """Draw `view` in width x height cells (never raises on small sizes or odd data)."""
    width, height = max(0, int(width)), max(0, int(height))
    canvas = _Canvas(width, height)
    picture = DataPicture()
    if view is None or width < 4 or height < 3 or view.kind not in (PLANE, CURVE, TABLE, SCATTER):
        text = "computing the data view…" if view is None else (view.scene.reason or "no data")
        if width and height:
            _put_centred(canvas, height // 2, text[:width], AXIS)
        picture.rows = canvas.rows()
        return picture
    draw = {PLANE: _plane, CURVE: _curve, TABLE: _table, SCATTER: _scatter}[view.kind]
    draw(canvas, picture, view, color)
    if picture.legend:
        _legend(canvas, picture.legend, height - 1)
    picture.rows = canvas.rows()
    return picture


def _put_centred(canvas: _Canvas, row: int, text: str, style) -> None:
    canvas.put(row, max(0, (canvas.width - len(text)) // 2), text, style)


def _legend(canvas: _Canvas, legend, row: int) -> None:
    """A legend of (text, style) parts on one row, left to right; the parts from the first
    that does not fit whole are left out (a word cut at the edge reads as another word)."""
    col = 0
    for text, style in legend:
        if col + len(text) > canvas.width:
            break
        canvas.put(row, col, text, style)
        col += len(text)


def _blend(colour, amount: float, base=BACKGROUND) -> tuple[int, int, int]:
    return tuple(int(round(b + (c - b) * amount)) for c, b in zip(colour, base))  # type: ignore[return-value]


def _resample(grid: np.ndarray, ny: int, nx: int) -> np.ndarray:
    """Nearest-neighbour resize (a view of the previous resolution, while the new one is
    computed after a resize)."""
    gy, gx = grid.shape
    if (gy, gx) == (ny, nx):
        return grid
    return grid[(np.arange(ny) * gy) // ny][:, (np.arange(nx) * gx) // nx]


def _plane(canvas: _Canvas, picture: DataPicture, view: DataView, color: bool) -> None:
    scene = view.scene
    nx, ny = plane_layout(scene, canvas.width, canvas.height)
    rows = ny // 2
    left = (canvas.width - nx) // 2
    picture.plot = (left, 0, nx, rows)
    predicted = _resample(np.asarray(view.predicted), ny, nx)
    confidence = _resample(np.asarray(view.confidence), ny, nx)
    k = max(scene.classes, int(predicted.max(initial=0)) + 1)
    palette = np.array([class_colour(c) for c in range(k)], dtype=float)
    amount = LIGHT_MIN + (LIGHT_MAX - LIGHT_MIN) * confidence
    base = np.array(BACKGROUND, dtype=float)
    pixels = np.rint(base + (palette[predicted] - base) * amount[..., None]).astype(int)
    top, bottom = pixels[0::2], pixels[1::2]
    cell_colour = (top + bottom) // 2
    if color:
        for r in range(rows):
            canvas.pixels(r, left, top[r], bottom[r])
    else:
        shades = CLASS_SHADES
        cls = predicted[0::2]  # the upper pixel's class stands for the cell
        for r in range(rows):
            canvas.put(r, left, "".join(shades[v % len(shades)] for v in cls[r].tolist()), None)

    (x0, x1), (y0, y1) = scene.x_range, scene.y_range

    def cells(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(xy) == 0:
            empty = np.zeros(0, dtype=int)
            return empty, empty, np.zeros(0, dtype=bool)
        col = np.floor((xy[:, 0] - x0) / (x1 - x0) * nx).astype(int)
        row = np.floor((y1 - xy[:, 1]) / (y1 - y0) * ny).astype(int) // 2
        inside = (col >= 0) & (col < nx) & (row >= 0) & (row < rows)
        return row, col, inside

    flipped = np.asarray(scene.train_flipped, dtype=bool)
    layers = (
        (scene.val_xy, scene.val_labels, np.zeros(len(scene.val_labels), bool), VAL_SHAPES),
        (scene.train_xy, scene.train_labels, ~flipped if len(flipped) else None, TRAIN_SHAPES),
        (scene.train_xy, scene.train_labels, flipped if len(flipped) else None, None),
    )
    for xy, labels, keep, shapes in layers:
        if keep is None or not len(xy):
            continue
        row, col, inside = cells(np.asarray(xy))
        mask = inside & (keep if shapes is not VAL_SHAPES else True)
        for r, c, label in zip(
            row[mask].tolist(), col[mask].tolist(), np.asarray(labels)[mask].tolist()
        ):
            glyph = FLIPPED_GLYPH if shapes is None else shapes[label % len(shapes)]
            if color:
                style = Paint(class_colour(label), tuple(cell_colour[r, c].tolist()))  # type: ignore[arg-type]
            else:
                style = FLIPPED if shapes is None else (TRAIN if shapes is TRAIN_SHAPES else VAL)
            canvas.put(r, left + c, glyph, style)

    legend: list = []
    for c in range(min(k, 4)):
        swatch = (Paint(class_colour(c), None), "█") if color else (None, CLASS_SHADES[c] or " ")
        legend += [(swatch[1], swatch[0]), (f" {c} ", LABEL)]
    # In the plane a point's colour is its class: the legend's glyphs take none.
    legend += [(" ● train", LABEL), ("  ○ val", LABEL)]
    if flipped.any():
        legend.append(("  × flipped", LABEL))
    if color:
        legend.append(("  pale: unsure", AXIS))
    picture.legend = legend


def _table(canvas: _Canvas, picture: DataPicture, view: DataView, color: bool) -> None:
    scene = view.scene
    p = scene.p
    rows_avail = max(1, canvas.height - 1)
    kb = max(1, -(-p // canvas.width))  # pairs per pixel across (b)...
    ka = max(1, -(-p // (2 * rows_avail)))  # ...and down (a)
    n_cols, n_px = -(-p // kb), -(-p // ka)
    rows = -(-n_px // 2)
    left = (canvas.width - n_cols) // 2
    picture.plot = (left, 0, n_cols, rows)
    split = np.asarray(scene.table_split)
    correct = np.asarray(view.correct, dtype=bool)
    # Sum each pair's colour (and count pairs) into its pixel, at once per kind of pair.
    pad_a, pad_b = n_px * ka - p, n_cols * kb - p

    def blocks(mask: np.ndarray) -> np.ndarray:
        padded = np.pad(mask.astype(float), ((0, pad_a), (0, pad_b)))
        return padded.reshape(n_px, ka, n_cols, kb).sum(axis=(1, 3))

    val_all, val_right = blocks(split == 2), blocks((split == 2) & correct)
    train_all, train_right = blocks(split == 1), blocks((split == 1) & correct)
    if color:
        pixels = np.rint(_table_colours(val_all, val_right, train_all, train_right)).astype(int)
        if n_px % 2:
            pixels = np.concatenate([pixels, np.full((1, n_cols, 3), BACKGROUND)])
        for r in range(rows):
            canvas.pixels(r, left, pixels[2 * r], pixels[2 * r + 1])
    else:
        if n_px % 2:
            val_right = np.concatenate([val_right, np.zeros((1, n_cols))])
            val_all = np.concatenate([val_all, np.zeros((1, n_cols))])
        right = val_right[0::2] + val_right[1::2]
        total = val_all[0::2] + val_all[1::2]
        share = np.where(total > 0, right / np.maximum(total, 1), -1.0)
        top = len(ACCURACY_SHADES) - 1
        for r in range(rows):
            text = "".join(
                "·" if s < 0 else ACCURACY_SHADES[int(round(s * top))] for s in share[r].tolist()
            )
            canvas.put(r, left, text, None)
    if color:
        block = f"  {ka}×{kb} pairs/px" if ka * kb > 1 else ""
        val_r, val_w, train_r, train_w = (
            Paint(PAIR_COLOURS[key], None) for key in ((2, True), (2, False), (1, True), (1, False))
        )
        legend = [
            ("█", val_r), (" val right  ", LABEL), ("█", val_w), (" wrong  ", LABEL),
            ("█", train_r), (" train right ", LABEL), ("█", train_w), (" wrong", LABEL),
        ]  # fmt: skip
        if sum(len(t) for t, _ in legend) + len(block) > canvas.width:  # the short form
            legend = [("█", val_r), (" val right ", LABEL), ("█", val_w), (" wrong ", LABEL),
                      ("█", train_r), ("█", train_w), (" train", LABEL)]  # fmt: skip
        legend.append((block, AXIS))
    else:
        block = f"  {2 * ka}×{kb} pairs/cell" if ka * kb > 1 else ""
        text = "val pairs right: █ all ▒ half ░ few, · none shown"
        if len(text) + len(block) > canvas.width:  # the short form
            text, block = "val right: █ all ▒ half ░ few", block.replace(" pairs", "")
        legend = [(text, LABEL), (block, AXIS)]
    picture.legend = legend


def _table_colours(val_all, val_right, train_all, train_right) -> np.ndarray:
    """Each pixel's colour: its validation pairs' share right, red to green, tinted
    towards its training pairs' colour (purple to blue) by their share of its pairs, at
    most TRAIN_TINT, so that the held-out pairs, which show grokking, stand out; a pixel
    of training pairs only has their colour, one of neither NOT_SHOWN."""

    def lerp(a, b, t):
        return np.array(a, float) + (np.array(b, float) - np.array(a, float)) * t[..., None]

    val = lerp(
        PAIR_COLOURS[(2, False)], PAIR_COLOURS[(2, True)], val_right / np.maximum(val_all, 1)
    )
    train = lerp(PAIR_COLOURS[(1, False)], PAIR_COLOURS[(1, True)],
                 train_right / np.maximum(train_all, 1))  # fmt: skip
    shown = val_all + train_all
    tint = np.where(val_all > 0, TRAIN_TINT * train_all / np.maximum(shown, 1), 1.0)
    out = val + (train - val) * tint[..., None]
    return np.where((shown > 0)[..., None], out, np.array(NOT_SHOWN, float))


def _ticks(lo: float, hi: float, count: int) -> list[tuple[float, str]]:
    return [(t, format_value(t, 3)) for t in S.nice_ticks(lo, hi, count)]


def _xy(
    canvas: _Canvas,
    picture: DataPicture,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    lines: list[tuple[np.ndarray, np.ndarray, str, str]],
    points: list[tuple[np.ndarray, np.ndarray, str, str]],
    x_name: str,
) -> None:
    """Braille lines and glyph (or dot) points on axes with tick labels; a legend row and
    an x-label row below."""
    width, height = canvas.width, canvas.height
    (x0, x1), (y0, y1) = x_range, y_range
    bottom = 3 if height >= 8 else 1  # axis, tick labels, legend (or the legend alone)
    ph = max(1, height - bottom)
    yt = _ticks(y0, y1, max(2, ph // 3)) if bottom == 3 else []
    label_w = max((len(t) for _, t in yt), default=0)
    if width - label_w - 1 < 10:
        label_w, yt = 0, []
    left = label_w + 1 if bottom == 3 else 0
    pw = max(1, width - left)
    picture.plot = (left, 0, pw, ph)
    dots_w, dots_h = 2 * pw, 4 * ph

    def dx(values):
        return chart.to_dots(values, x0, x1, dots_w)

    def dy(values):
        return chart.to_dots(values, y0, y1, dots_h, flip=True)

    codes = np.zeros((ph, pw), dtype=np.uint8)
    owner = np.zeros((ph, pw), dtype=np.int16)
    glyphs = sum(len(xs) for xs, _, _, _ in points) <= max(1, pw * ph // GLYPHS_PER_CELLS)
    layers = []
    if not glyphs:
        for xs, ys, role, _ in points:
            keep = np.isfinite(xs) & np.isfinite(ys)
            layers.append(
                (np.rint(dx(xs[keep])).astype(np.intp), np.rint(dy(ys[keep])).astype(np.intp), role)
            )
    for xs, ys, role, pattern in lines:
        for run in _runs_inside(xs, ys, y0, y1):
            cols, rows = chart.pattern_dots(*chart.line_dots(dx(xs[run]), dy(ys[run])), pattern)
            layers.append((cols, rows, role))
    for cols, rows, role in layers:
        layer = chart.braille_codes(chart.dot_grid(cols, rows, dots_w, dots_h))
        lit = layer > 0
        codes[lit] = layer[lit]
        owner[lit] = canvas.key(role)
    canvas.chars[:ph, left:] = chart.braille_chars(codes)
    canvas.styles[:ph, left:] = owner
    if glyphs:
        for xs, ys, role, glyph in points:
            keep = np.isfinite(xs) & np.isfinite(ys)
            cols = np.rint(dx(xs[keep])).astype(int) // 2
            rows = np.rint(dy(ys[keep])).astype(int) // 4
            for r, c in zip(rows.tolist(), cols.tolist()):
                canvas.put(r, left + c, glyph, role)
    if bottom == 3:
        axis = left - 1
        canvas.chars[:ph, axis] = ord("│")
        canvas.styles[:ph, axis] = canvas.key(AXIS)
        canvas.put(ph, axis, "└" + "─" * pw, AXIS)
        for value, text in yt:
            r = int(np.rint(dy([value])[0])) // 4
            canvas.put(r, axis, "┤", AXIS)
            canvas.put(r, label_w - len(text), text, LABEL)
        # The axis's name at its right end, before any tick label that would hide it.
        name = f" {x_name}"
        name_at = max(left, width - len(name))
        end = -1
        for value, text in _ticks(x0, x1, max(2, pw // 10)):
            c = left + int(np.rint(dx([value])[0])) // 2
            start = min(max(c - len(text) // 2, 0), width - len(text))
            if start <= end or start + len(text) > name_at:
                continue
            canvas.put(ph, c, "┬", AXIS)
            canvas.put(ph + 1, start, text, LABEL)
            end = start + len(text)
        canvas.put(ph + 1, name_at, name, AXIS)


def _runs_inside(xs: np.ndarray, ys: np.ndarray, lo: float, hi: float) -> list[np.ndarray]:
    """Index runs of a line's finite points inside [lo, hi], each with its neighbour
    beyond an edge (drawn clamped to it), so a line leaving the plot is cut there rather
    than drawn along the edge."""
    ok = np.isfinite(xs) & np.isfinite(ys)
    inside = ok & (ys >= lo) & (ys <= hi)
    runs = []
    idx = np.flatnonzero(inside)
    if idx.size == 0:
        return runs
    breaks = np.flatnonzero(np.diff(idx) > 1)
    for start, stop in zip(np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]]):
        first = start - 1 if start > 0 and ok[start - 1] else start
        last = stop + 1 if stop + 1 < len(xs) and ok[stop + 1] else stop
        runs.append(np.arange(first, last + 1))
    return runs


def _span(values: list[np.ndarray], pad: float) -> tuple[float, float]:
    both = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values])
    both = both[np.isfinite(both)]
    if both.size == 0:
        return -1.0, 1.0
    lo, hi = float(both.min()), float(both.max())
    if chart.is_flat(lo, hi):
        lo, hi = chart.padded_range(lo, hi)
    span = hi - lo
    return lo - pad * span, hi + pad * span


def _curve(canvas: _Canvas, picture: DataPicture, view: DataView, color: bool) -> None:
    scene = view.scene
    train, val = np.asarray(scene.train_xy), np.asarray(scene.val_xy)
    # The data's range, with room for a fit that overshoots a little; beyond that the fit
    # leaves the plot (see _runs_inside), so a wild wiggle does not squash the points.
    y0, y1 = _span([train[:, 1], val[:, 1]], 0.25)
    xs = np.asarray(view.grid_x)
    lines = []
    if len(view.truth):
        lines.append((xs, np.asarray(view.truth), TRUTH, chart.DASHED))
    lines.append((xs, np.asarray(view.fit), FIT, chart.SOLID))
    points = [(val[:, 0], val[:, 1], VAL, "○"), (train[:, 0], train[:, 1], TRAIN, "●")]
    _xy(canvas, picture, scene.x_range, (y0, y1), lines, points, scene.x_name)
    legend = [("● train", TRAIN), ("  ○ val", VAL), ("  ━ fit", FIT)]
    if len(view.truth):
        legend.append(("  ╍ true function", TRUTH))
    picture.legend = legend


def _scatter(canvas: _Canvas, picture: DataPicture, view: DataView, color: bool) -> None:
    scene = view.scene
    ty, vy = np.asarray(scene.train_y), np.asarray(scene.val_y)
    tp, vp = np.asarray(view.train_pred), np.asarray(view.val_pred)
    lo, hi = _span(
        [ty, vy, np.clip(tp, *_span([ty, vy], 1.0)), np.clip(vp, *_span([ty, vy], 1.0))], 0.05
    )
    diagonal = np.array([lo, hi])
    lines = [(diagonal, diagonal, TRUTH, chart.DASHED)]
    points = [(vy, vp, VAL, "○"), (ty, tp, TRAIN, "●")]
    _xy(canvas, picture, (lo, hi), (lo, hi), lines, points, scene.x_name)
    picture.legend = [("● train", TRAIN), ("  ○ val", VAL), ("  ╍ perfect fit", TRUTH)]

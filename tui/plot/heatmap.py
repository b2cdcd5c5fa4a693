"""The phase diagram's picture, without Textual: a grid of cells, axis labels, a legend.

With colour each terminal cell is an upper half block (▀) whose foreground is the pixel
above and whose background the pixel below, so a diagram cell can be half a row high
and a grid of many rows still fits. A blank pixel between cells separates them; around
the selected cell it is drawn as a frame (where there is no room for one, the selected
cell's axis labels still stand out). Without colour (NO_COLOR) each cell is a glyph of
its phase, or a block whose height is its value, and the selected cell is reversed.

`render_heatmap` returns rows of (text, style key) runs, like tui.plot.chart; the widget
maps the keys to styles: ("px", fg, bg) for a half block (▄ when only the lower pixel
is drawn), ("glyph", key, selected)
for a glyph, ("swatch", key) for a legend's colour patch, LABEL and SELECTED for labels.
A cell's own key is its category (a phase, running, queued, ...) or ("level", i) on a
value scale, or MISSING. No textual or rich import: tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass, field

from engine.sweep.diagram import FAILED, NO_PHASE, QUEUED, RUNNING, VALUE_COLUMNS, Diagram, Point
from engine.vocabulary import Phase
from tui.format import format_value

LABEL, SELECTED = "label", "selected"  # axis labels, and those of the selected cell
CURSOR = "cursor"  # the frame's pixels
MISSING = "missing"  # a finished point with no value in the column shown
MAX_CELL_W = 12  # terminal columns per diagram cell, gap included
MAX_CELL_H = 6  # half rows per diagram cell with colour, gap included
MAX_GLYPH_H = 3  # rows per diagram cell without colour
STAGGER_HEIGHT = 8  # from this height, labels wider than their cells take two rows

PHASE_GLYPHS: dict[str, str] = {
    Phase.COMPREHENSION: "█",
    Phase.GROKKING: "▓",
    Phase.MEMORIZATION: "▒",
    Phase.CONFUSION: "░",
    Phase.DIVERGED: "╳",
    FAILED: "!",
    NO_PHASE: "-",
    RUNNING: "~",
    QUEUED: "·",
}
LEVELS = "▁▂▃▄▅▆▇█"  # without colour, a value is the height of its block
MISSING_GLYPH = "?"
CATEGORIES = tuple(PHASE_GLYPHS)  # the legend's order
PHASES = frozenset(str(p) for p in Phase)  # always in the legend; the others when drawn

Run = tuple[str, Hashable | None]
Row = list[Run]


@dataclass
class Picture:
    """What render_heatmap drew: `rows` of runs, where each visible diagram cell went
    ((column, row, width, height) in terminal cells, by (x, y)) and the visible window
    of the grid (first x, count, first y, count)."""

    rows: list[Row] = field(default_factory=list)
    cells: dict[tuple[int, int], tuple[int, int, int, int]] = field(default_factory=dict)
    window: tuple[int, int, int, int] = (0, 0, 0, 0)


def level_of(value: float, span: tuple[float, float] | None) -> int:
    """The step of the sequential scale a value falls on (the top one for a flat span)."""
    top = len(LEVELS) - 1
    if span is None or not math.isfinite(value):
        return top
    lo, hi = span
    if not hi > lo:
        return top
    return min(top, max(0, int((value - lo) / (hi - lo) * top + 0.5)))


def cell_key(point: Point, column: str | None, span: tuple[float, float] | None) -> Hashable:
    """A point's key: its category, or with a column its value's level (a point not yet
    finished keeps running / queued; a finished one without a value is MISSING)."""
    category = point.category
    if column is None or category in (RUNNING, QUEUED):
        return category
    value = point.value(column)
    return MISSING if value is None else ("level", level_of(value, span))


def glyph_of(key: Hashable) -> str:
    if isinstance(key, tuple) and key[0] == "level":
        return LEVELS[int(key[1])]
    if key == MISSING:
        return MISSING_GLYPH
    return PHASE_GLYPHS.get(str(key), "?")


def window_start(cursor: int, shown: int, total: int) -> int:
    """The first index of a window of `shown` of `total` that keeps `cursor` in view."""
    if shown >= total:
        return 0
    return min(max(0, cursor - shown // 2), total - shown)


class _Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.chars = [[" "] * width for _ in range(height)]
        self.keys: list[list[Hashable | None]] = [[None] * width for _ in range(height)]

    def put(self, row: int, col: int, text: str, key: Hashable | None) -> None:
        if not 0 <= row < self.height:
            return
        for i, ch in enumerate(text):
            if 0 <= col + i < self.width:
                self.chars[row][col + i] = ch
                self.keys[row][col + i] = key

    def rows(self) -> list[Row]:
        out: list[Row] = []
        for chars, keys in zip(self.chars, self.keys):
            row: Row = []
            for ch, key in zip(chars, keys):
                if row and row[-1][1] == key:
                    row[-1] = (row[-1][0] + ch, key)
                else:
                    row.append((ch, key))
            out.append(row)
        return out


def render_heatmap(
    diagram: Diagram,
    width: int,
    height: int,
    *,
    column: str | None = None,
    cursor: tuple[int, int] = (0, 0),
    color: bool = True,
) -> Picture:
    """Draw `diagram` in width x height terminal cells, coloured by phase or, with
    `column`, by that sweep.csv column. Cells shrink to fit; when even one column per cell
    is too many, a window of the grid around the cursor is drawn. Never raises on a tiny
    size, an empty grid or missing values."""
    width, height = max(0, int(width)), max(0, int(height))
    picture = Picture()
    canvas = _Canvas(width, height)
    nx, ny = diagram.width, diagram.height
    if width == 0 or height == 0 or nx == 0 or ny == 0:
        picture.rows = canvas.rows()
        return picture
    cx, cy = min(max(cursor[0], 0), nx - 1), min(max(cursor[1], 0), ny - 1)
    top = 1 if height >= 2 else 0  # the x labels' row, two when they crowd and there is room
    label_w = 0
    if diagram.y_key is not None:
        label_w = min(max(len(t) for t in diagram.y_texts), width // 4)
    left = label_w + 2 if label_w else 1  # a blank column (the frame's) before the cells
    grid_w, grid_rows = width - left, height - top
    if grid_w < 1 or grid_rows < 1:
        picture.rows = canvas.rows()
        return picture
    cw = min(max(grid_w // nx, 1), MAX_CELL_W)
    gap_x = 1 if cw >= 3 else 0
    widest = max(len(t) for t in diagram.x_texts)
    if top and widest >= cw and height >= STAGGER_HEIGHT:
        top, grid_rows = 2, grid_rows - 1
    shown_x = min(nx, grid_w // cw)
    units = 2 * grid_rows if color else grid_rows  # half rows with colour, rows without
    ch = min(max(units // ny, 1), MAX_CELL_H if color else MAX_GLYPH_H)
    gap_y = 1 if color and ch >= 3 else 0
    shown_y = min(ny, units // ch)
    x0, y0 = window_start(cx, shown_x, nx), window_start(cy, shown_y, ny)
    picture.window = (x0, shown_x, y0, shown_y)
    span = diagram.value_range(column) if column is not None else None

    pixels: list[list[Hashable | None]] = [[None] * width for _ in range(units)]
    for j in range(shown_y):
        for i in range(shown_x):
            x, y = x0 + i, y0 + j
            point = diagram.points[y][x]
            key = cell_key(point, column, span)
            col, unit, w, h = left + i * cw, j * ch, cw - gap_x, ch - gap_y
            if color:
                for r in range(unit, unit + h):
                    pixels[r][col : col + w] = [key] * w
                rows = max(1, (unit + h + 1) // 2 - unit // 2)
                picture.cells[(x, y)] = (col, top + unit // 2, w, rows)
            else:
                chosen = (x, y) == (cx, cy)
                for r in range(unit, unit + h):
                    canvas.put(top + r, col, glyph_of(key) * w, ("glyph", key, chosen))
                picture.cells[(x, y)] = (col, top + unit, w, h)
    if color:
        i, j = cx - x0, cy - y0
        col, unit, w, h = left + i * cw, j * ch, cw - gap_x, ch - gap_y
        for r in range(unit - gap_y, unit + h + gap_y):
            for c in range(col - gap_x, col + w + gap_x):
                inside = col <= c < col + w and unit <= r < unit + h
                if not inside and 0 <= r < units and left - 1 <= c < width and c >= 0:
                    pixels[r][c] = CURSOR
        for r in range(grid_rows):
            upper, lower = pixels[2 * r], pixels[2 * r + 1]
            for c in range(width):
                if upper[c] is not None:
                    canvas.put(top + r, c, "▀", ("px", upper[c], lower[c]))
                elif lower[c] is not None:  # ▀'s foreground would paint the blank half
                    canvas.put(top + r, c, "▄", ("px", lower[c], None))

    # The y labels, right-aligned; two grid rows in one terminal row: the first keeps it
    # unless the other is the selected one.
    if label_w:
        for j in range(shown_y):
            y = y0 + j
            row = top + (j * ch // 2 if color else j * ch)
            if y != cy and canvas.keys[row][0:label_w] != [None] * label_w:
                continue
            text = diagram.y_texts[y][:label_w].rjust(label_w)
            canvas.put(row, 0, text, SELECTED if y == cy else LABEL)
    # The x labels over their cells, the selected one first; one that would touch a label
    # already placed goes to the second label row (when there is one), else is left out.
    if top:
        placed: list[list[tuple[int, int]]] = [[] for _ in range(top)]
        order = [cx] + [x0 + i for i in range(shown_x) if x0 + i != cx]
        for x in order:
            text = diagram.x_texts[x][:width]
            mid = left + (x - x0) * cw + (cw - gap_x) // 2
            start = min(max(mid - len(text) // 2, 0), max(0, width - len(text)))
            end = start + len(text)
            for line, taken in enumerate(placed):
                if not any(start <= b and a <= end for a, b in taken):
                    taken.append((start, end))
                    canvas.put(line, start, text, SELECTED if x == cx else LABEL)
                    break
    picture.rows = canvas.rows()
    return picture


def column_title(column: str | None) -> str:
    if column is None:
        return "phase"
    return dict(VALUE_COLUMNS).get(column, column)


def legend_runs(diagram: Diagram, column: str | None, *, color: bool = True) -> Row:
    """The legend in one line of runs: each phase and each other category drawn, with its
    colour or glyph; or the column's scale from its lowest value to its highest."""

    def swatch(key: Hashable) -> Run:
        return ("██", ("swatch", key)) if color else (glyph_of(key), ("glyph", key, False))

    runs: Row = []
    if column is None:
        present = {p.category for row in diagram.points for p in row}
        for category in CATEGORIES:
            if category in PHASES or category in present:
                runs += [swatch(category), (f" {category}  ", None)]
        return runs
    span = diagram.value_range(column)
    runs.append((f"{column_title(column)} (median): ", None))
    if span is None:
        runs.append(("no values yet  ", None))
    else:
        runs.append((f"{format_value(span[0])} ", None))
        for i in range(len(LEVELS)):
            key = ("level", i)
            runs.append(("█", ("swatch", key)) if color else (LEVELS[i], ("glyph", key, False)))
        runs.append((f" {format_value(span[1])}  ", None))
    present = {cell_key(p, column, span) for row in diagram.points for p in row}
    for key, label in ((MISSING, "no value"), (RUNNING, RUNNING), (QUEUED, QUEUED)):
        if key in present:
            runs += [swatch(key), (f" {label}  ", None)]
    return runs

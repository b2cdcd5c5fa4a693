"""How every number on screen and in the bench table is written, and how a user's text is
made safe to show: one rule each, one place."""

from __future__ import annotations

import math
import unicodedata

MISSING = "—"  # a value that does not exist (yet)


def format_value(value: object, digits: int = 4, spec: str | None = None) -> str:
    """Short display text: MISSING for None, 'nan'/'inf' spelled out, then `spec` if
    given (a format spec such as ',.1f'), else 4 significant digits (ints in full)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and spec is None:
        return f"{value:,}"
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if spec is not None:
        return format(v, spec)
    if v == 0.0:
        return "0"
    if 1e4 <= abs(v) < 1e6:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"  # 0.01235, 1.5e-07, 3.2e+09


def printable(text: object, *, newlines: bool = False) -> str:
    """`text` with every control or format character (ESC, BEL, bidi overrides...) written
    out as an escape such as \\x1b, so a preset's name, a CSV cell or an error message can
    neither drive the terminal nor reorder what is shown; tabs become spaces and, unless
    `newlines`, newlines too. Markup needs no escaping here: callers show the result as
    plain text (rich Text, Textual Content, markup=False)."""
    text = str(text)
    if text.isprintable():
        return text  # the common case, at C speed
    out = []
    for ch in text:
        if ch == "\n" and newlines:
            out.append(ch)
        elif ch in "\t\n":
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)

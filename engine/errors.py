"""The one exception type for a user's mistake (bad preset, override or data file)."""

# The longest quotation of a user's value in an error message: a message names what was
# wrong, it never echoes a whole file (or a megabyte of --set) back.
MAX_QUOTED = 120
# The longest file name or key shown as it is (a path can be long, but not a page).
MAX_NAMED = 300


def quoted(value: object, limit: int = MAX_QUOTED) -> str:
    """repr(value), cut to `limit` characters with a trailing '...' when longer.

    repr escapes newlines and control characters, so the quotation stays on one line.
    """
    try:
        text = repr(value)
    except RecursionError:  # a value nested thousands deep
        return "<a value nested too deeply to show>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(ValueError):
    """A user's input is wrong: names where (file), which key, what was expected and found.

    The CLI turns it into one line on stderr and exit status 2, never a traceback.
    """

    def __init__(self, source: str, key: str, expected: str, found: object) -> None:
        self.source = str(source)
        self.key = key
        self.expected = expected
        self.found = found
        # A file name or key with a newline or an escape code must not break the line.
        where = ": ".join(
            s if s.isprintable() and len(s) <= MAX_NAMED else quoted(s, MAX_NAMED)
            for s in (self.source, key)
        )
        super().__init__(f"{where}: expected {expected}, found {quoted(found)}")

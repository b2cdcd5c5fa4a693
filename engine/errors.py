"""The one exception type for a user's mistake (bad preset, override or data file)."""


class ConfigError(ValueError):
    """A user's input is wrong: names where (file), which key, what was expected and found.

    The CLI turns it into one line on stderr and exit status 2, never a traceback.
    """

    def __init__(self, source: str, key: str, expected: str, found: object) -> None:
        self.source = str(source)
        self.key = key
        self.expected = expected
        self.found = found
        super().__init__(f"{self.source}: {key}: expected {expected}, found {found!r}")

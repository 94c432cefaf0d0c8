"""One base exception for every error a user can make or meet: a bad option, input file, model, run or index.

Library code raises a `VanerError` (or a built-in error) and never prints or exits; `vaner`'s main turns one into a
single line on standard error, `vaner COMMAND: message`, and the exit status `exit_code`. Each subclass also derives
from the built-in error it refines (`ValueError`, `OSError`, ...), so callers that caught those keep working.
"""


class VanerError(Exception):
    """A user's error, with a message that says what and where (option, file and line). Exit status 2."""

    exit_code = 2


class UsageError(VanerError, ValueError):
    """An option or a combination of options that cannot work; the message names the option."""


class ModelFileError(VanerError, OSError):
    """A model's files are missing, truncated, corrupt or of a kind VANER refuses to load (pickles)."""

    def __str__(self) -> str:  # OSError's own str() would prefix an errno
        return str(self.args[0]) if self.args else ""


class OutputError(VanerError, OSError):
    """A file that cannot be written (a full disk, a read-only folder); the message names it. Nothing is left
    half-written."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""

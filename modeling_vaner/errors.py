"""One base exception for every error a user can make or meet: a bad option, input file, model, run or index.

Library code raises a `VanerError` (or a built-in error) and never prints or exits; `vaner`'s main turns one into a
single line on standard error, `vaner COMMAND: message`, and the exit status `exit_code`. Each subclass also derives
from the built-in error it refines (`ValueError`, `OSError`, ...), so callers that caught those keep working.

An error about one argument names it in the words of its caller: the library's function that knows which of its
parameters fed the bad value marks the error with it (`about("datasets")`: "datasets BioRDE: unknown corpus; ..."),
and the command line names the flag instead ("--datasets BioRDE: ...", `commands.cli.flag_words`).
"""


class VanerError(Exception):
    """A user's error, with a message that says what and where (option, file and line). Exit status 2.

    `parameter`: the Python parameter the error is about, once a caller knows which (None: the message says it all)."""

    exit_code = 2
    parameter: str | None = None

    def about(self, parameter: str) -> "VanerError":
        """This error, marked as about `parameter` (returned, to be raised)."""
        self.parameter = parameter
        return self

    @property
    def message(self) -> str:
        """The message without the parameter's name."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:  # (OSError's own str() would prefix an errno)
        return f"{self.parameter} {self.message}" if self.parameter else self.message


class UsageError(VanerError, ValueError):
    """An option or a combination of options that cannot work; the message names the option."""


class ModelFileError(VanerError, OSError):
    """A model's files are missing, truncated, corrupt or of a kind VANER refuses to load (pickles)."""

    __str__ = VanerError.__str__  # not OSError's, which would prefix an errno


class OutputError(VanerError, OSError):
    """A file that cannot be written (a full disk, a read-only folder); the message names it. Nothing is left
    half-written."""

    __str__ = VanerError.__str__

"""Writing files so that no reader ever sees half of one: the one write-then-rename of the package."""

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError

# What a write meets when the disk, the quota or the folder says no: said as an `OutputError` naming the file.
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG, errno.EACCES, errno.EPERM}


@contextmanager
def written_atomically(path: str | os.PathLike, mode: str = "w", opener=open, **options) -> Iterator:
    """A file handle onto `path.partial`, renamed onto `path` once the block ends without error. A failure (or an
    interrupt) leaves the previous `path` as it was and no `.partial` behind; a full disk or a folder that cannot be
    written is an `OutputError` naming `path`.

    Args:
        path: the file to write.
        mode, options: passed to `opener` (`open`, or `gzip.open`); text mode defaults to UTF-8.
    """
    if "b" not in mode:
        options.setdefault("encoding", "utf-8")
    with written_in_place_of(path) as partial, opener(partial, mode, **options) as handle:
        yield handle


@contextmanager
def written_in_place_of(path: str | os.PathLike) -> Iterator[Path]:
    """The path of `path.partial`, for a writer that takes a file name (an exporter), renamed onto `path` as
    `written_atomically` does, with its guarantees."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    try:
        yield partial
        os.replace(partial, path)
    except OSError as error:
        ours = error.filename in (None, str(partial), str(path))  # not a file the block read
        if error.errno not in WRITE_ERRNOS or not ours or isinstance(error, OutputError):
            raise
        raise OutputError(f"{path}: cannot write it ({error.strerror}); it was left as it was") from None
    finally:
        partial.unlink(missing_ok=True)


def write_json_atomically(path: str | os.PathLike, record) -> None:
    """`record` as indented JSON at `path`, through `written_atomically`."""
    with written_atomically(path) as handle:
        handle.write(json.dumps(record, indent=2) + "\n")

"""Results files (`vaner eval --output`): read and checked against `results.schema.json` on every read, and written
by merging under a lock, so no finished row is ever lost or invented.

A results file holds one model, scored with one set of settings (`SETTINGS`), and one row per corpus. Writing takes
a lock beside the file (`r.json.lock`), reads what is there, keeps every row of the same model and settings that
this run did not score, replaces the rows it did, and renames the new file into place: two `vaner eval` processes
writing one `--output` both keep their rows, and a reader never sees half a file.
"""

import json
import math
import sys
from contextlib import contextmanager
from pathlib import Path

from modeling_vaner.errors import VanerError
from modeling_vaner.files import write_json_atomically

SCHEMA_PATH = Path(__file__).resolve().parent / "results.schema.json"
SCHEMA_VERSION = 3  # 2: `device` and `max_length` required; 3: rows of document corpora (`level: document`)
# What makes two files' rows comparable: one model, scored the same way.
SETTINGS = ("model_path", "revision", "dtype", "max_length", "guidelines", "request")


class ResultsError(VanerError, ValueError):
    """A results file that is not one, or whose rows break the schema; the message names the file and field."""


class NotScoredError(VanerError, ValueError):
    """A corpus a model cannot be scored on: the model knows none of its entity types. `vaner eval` says so and
    goes on with the next corpus."""


def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def check_results(report, path: str | Path) -> dict:
    """`report` if it is a valid results file (schema, one row per corpus), else `ResultsError` naming `path` and
    the first bad field (as a JSON path, e.g. `results[0].strict.f1`)."""
    if not isinstance(report, dict) or "results" not in report or "schema_version" not in report:
        kind = type(report).__name__ if not isinstance(report, dict) else "object without schema_version/results"
        raise ResultsError(f"{path} is not a `vaner eval` results file (a JSON {kind}).")
    if where := non_finite(report):
        raise ResultsError(f"{path}: field {where}: not a finite number (NaN or Infinity); a score is a number.")
    errors = sorted(_validator().iter_errors(report), key=lambda error: list(error.absolute_path))
    if errors:
        error = errors[0]
        where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path)
        raise ResultsError(f"{path}: field {where.lstrip('.') or '(top level)'}: {error.message}")
    seen = set()
    for number, row in enumerate(report["results"]):
        if row["dataset"] in seen:
            raise ResultsError(
                f"{path}: field results[{number}].dataset: {row['dataset']!r} appears twice; a "
                "results file holds one row per corpus."
            )
        seen.add(row["dataset"])
    return report


def non_finite(value, where: str = "") -> str | None:
    """The JSON path of the first NaN or Infinity in `value`, or None (JSON Schema's `number` lets them through)."""
    if isinstance(value, float) and not math.isfinite(value):
        return where or "(top level)"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = non_finite(item, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}".lstrip("."))
        if found:
            return found
    return None


def read_results(path: str | Path) -> dict:
    """A results file, parsed and checked (`check_results`)."""
    path = Path(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ResultsError(f"cannot read results {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ResultsError(f"{path} is not valid JSON ({error}); not a `vaner eval` results file.") from None
    return check_results(report, path)


def settings_of(report: dict) -> dict:
    return {key: report.get(key) for key in SETTINGS}


def merged(report: dict, saved: dict | None) -> dict:
    """`report`'s rows with every row of `saved` (same settings) that it has no row for: `saved`'s order, a row of
    `report` in place of the saved row of its corpus, then `report`'s new corpora."""
    if saved is None:
        return report
    own = {row["dataset"]: row for row in report["results"]}
    rows = [own.pop(row["dataset"], row) for row in saved["results"]]
    return {**report, "results": rows + list(own.values())}


LOCK_WAIT_SECONDS = 600  # the longest a run waits for another writing the same results file


@contextmanager
def results_lock(output: Path):
    """Hold `output`'s lock (`output.lock`) while its rows are merged and written. Held by another run, this says
    so on standard error and waits for it, at most `LOCK_WAIT_SECONDS`, then stops with a `ResultsError`.

    The lock file is removed before the lock is let go, so none is left beside the results. That is safe with
    filelock >= 3.24: a run that opened the removed file and then gets its lock sees it has no name any more (no
    link) and takes the lock again on a new file, so two runs never hold it at once."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(output) + ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"{output}: another run is writing it (it holds {lock.lock_file}); waiting...", file=sys.stderr)
        try:
            lock.acquire(timeout=LOCK_WAIT_SECONDS)
        except Timeout:
            raise ResultsError(
                f"{output}: its lock {lock.lock_file} has been held for {LOCK_WAIT_SECONDS} s; if no other vaner "
                "eval is writing this file, remove the lock and run again"
            ) from None
    try:
        yield
    finally:
        Path(lock.lock_file).unlink(missing_ok=True)
        lock.release()


def write_results(report: dict, output: str | Path, replace_other: bool = False) -> dict:
    """Merge `report` into `output` under its lock (`merged`) and replace the file atomically; returns what was
    written. A file of other settings is replaced only with `replace_other` (a run's first write without
    --resume); otherwise it is an error, never merged."""
    output = Path(output)
    with results_lock(output):
        saved = read_results(output) if output.is_file() else None
        if saved is not None and settings_of(saved) != settings_of(report):
            if not replace_other:
                raise ResultsError(
                    f"{output} now holds results of other settings {settings_of(saved)} (another "
                    f"run wrote it); this run's are {settings_of(report)}. Write to another file."
                ).about("output")
            saved = None
        combined = check_results(merged(report, saved), output)
        write_json_atomically(output, combined)  # its `.partial` is ours alone: the lock is held
    return combined

"""Where a model runs on the CPU: PyTorch, or its ONNX export on ONNX Runtime (`onnx_runtime`), in float32 or int8;
`auto` picks the fastest that keeps the model's answers. No torch here: the command line reads these names before
anything loads."""

import hashlib
import importlib.util
import json
from pathlib import Path

from .embedded import DEFAULT_MODEL_DIR
from .errors import UsageError
from .processing_vaner import ONNX_CHECKS, ONNX_FILES, ONNX_FOLDER, export_agrees

RUNTIMES = ("torch", *ONNX_FILES)
AUTO = "auto"
# Does int8 tag as well as float32? `benchmarks/cpu_int8.py` decides for the default model (its `auto_int8` and
# `chosen` in benchmarks/results/cpu_int8.json; a test keeps these equal to them): `auto` runs the default model's
# int8 graph only once a recipe moves no core corpus's devel slice by more than 0.3 strict F1. None does yet
# (docs/benchmarks.md); INT8_RECIPE, the one `vaner export-onnx --int8` writes, is the closest to float32.
INT8_AGREES = False
INT8_RECIPE = "weights-8bit-b32"
WEIGHTS_KEY = "weights_sha256"  # in the export record: `weights_fingerprint` of the folder the graphs came from
WHOLE_UP_TO, SAMPLES, SAMPLE_BYTES = 64 * 2**20, 256, 64 * 2**10  # 16 MiB read of any weights file, however big


def onnx_home(model: str | Path | None) -> Path:
    """The folder whose `onnx/` holds a model's export: the model's own folder or Hub id, or for the default model
    (None, or its folder in the package) `$VANER_CACHE/default_model`, since the package may be read-only."""
    if model is not None and Path(model).resolve() != DEFAULT_MODEL_DIR:
        return Path(model)
    from .backbone import cache_dir

    return cache_dir() / "default_model"


def onnx_path(model_dir: str | Path, runtime: str = "onnx") -> Path:
    """Where a model folder keeps its ONNX graph for `runtime` (`onnx` or `onnx-int8`)."""
    return Path(model_dir) / ONNX_FOLDER / ONNX_FILES[runtime]


def export_command(model: str | None, runtime: str) -> str:
    """The command that writes `model`'s graph for `runtime` (None: the default model)."""
    return "vaner export-onnx" + (f" --model {model}" if model else "") + (" --int8" if runtime == "onnx-int8" else "")


def check_runtime(model: str | None, runtime: str, device: str | None) -> None:
    """Before anything loads: `onnx` or `onnx-int8` runs on the CPU, from the graph a model folder holds (`model`
    None: the default model; a Hub repo's graph is fetched as it loads). `UsageError` about `runtime` otherwise."""
    if runtime in ("torch", AUTO):
        return
    if (device or "auto") not in ("auto", "cpu"):
        raise UsageError(f"{runtime} runs on the CPU, not on device {device}").about("runtime")
    folder = onnx_home(model)
    if (model is None or folder.is_dir()) and not onnx_path(folder, runtime).is_file():
        raise UsageError(
            f"{runtime}: {folder} has no {onnx_path('', runtime)}; write it with `{export_command(model, runtime)}`"
        ).about("runtime")
    if folder.is_dir() and export_is_stale(read_export_record(folder), weights_dir_of(model)):
        raise UsageError(f"{runtime}: {stale_export(folder, model)}").about("runtime")


def weights_dir_of(model: str | None) -> Path:
    """The folder whose weights a model's export came from: the model's own, or the default model's."""
    return DEFAULT_MODEL_DIR if model is None else Path(model)


def stale_export(folder: Path, model: str | None) -> str:
    """What to say of an export made from other weights than the model holds now."""
    return (
        f"{folder / ONNX_FOLDER} was exported from other weights than the model holds now; write it again with "
        f"`{export_command(model, 'onnx-int8' if onnx_path(folder, 'onnx-int8').is_file() else 'onnx')}`"
    )


def resolve_runtime(model: str | None, runtime: str, device: str | None) -> str:
    """`runtime` as asked, or for `auto` the fastest runtime that keeps the model's answers: ONNX Runtime in float32
    where it is installed, the model runs on the CPU, and its export (`vaner export-onnx`) matched PyTorch's logits
    when it was written, from the weights the model holds now; else PyTorch. int8 changes answers: unasked it runs
    only for the default model, and only once its measurement says it keeps them (`INT8_AGREES`)."""
    if runtime != AUTO:
        return runtime
    if (device or "auto") not in ("auto", "cpu") or importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    if device in (None, "auto"):
        import torch

        if torch.cuda.is_available():
            return "torch"
    folder, weights_dir = onnx_home(model), weights_dir_of(model)
    if model is None and INT8_AGREES and int8_export_is_current(folder, weights_dir):
        return "onnx-int8"
    return "onnx" if export_recorded_agreeing(folder, weights_dir=weights_dir) else "torch"


def int8_export_is_current(folder: Path, weights_dir: Path) -> bool:
    """Whether `folder` holds an int8 graph of today's recipe (`INT8_RECIPE`), exported from the weights in
    `weights_dir` as they are now."""
    record = read_export_record(folder)
    current = record.get(ONNX_FILES["onnx-int8"], {}).get("recipe") == INT8_RECIPE
    return current and onnx_path(folder, "onnx-int8").is_file() and not export_is_stale(record, weights_dir)


def export_recorded_agreeing(folder: Path, runtime: str = "onnx", weights_dir: Path | None = None) -> bool:
    """Whether `folder` (a local model folder) holds `runtime`'s graph, its export record says it gave PyTorch's
    logits (`processing_vaner.export_agrees`), and it was exported from the weights `weights_dir` (default: `folder`)
    holds now (`export_is_stale`)."""
    record = read_export_record(folder)
    if not onnx_path(folder, runtime).is_file() or not export_agrees(record, runtime):
        return False
    return not export_is_stale(record, weights_dir or folder)


def read_export_record(folder: Path) -> dict:
    """The record an export wrote beside its graphs (`ONNX_CHECKS`); {} where there is none or it does not parse."""
    try:
        record = json.loads((Path(folder) / ONNX_FOLDER / ONNX_CHECKS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def weights_fingerprint(model_dir: str | Path) -> str:
    """A SHA-256 over a model folder's weights files (`*.safetensors` in it and in its adapter folder): what an export
    records, so that a graph exported from other weights is known as stale. A file up to `WHOLE_UP_TO` bytes is read
    whole; of a bigger one, its size and `SAMPLES` blocks spread over it (training again moves nearly every block)."""
    folder = Path(model_dir)
    digest = hashlib.sha256()
    for path in sorted([*folder.glob("*.safetensors"), *folder.glob("*/*.safetensors")]):
        size = path.stat().st_size
        digest.update(f"{path.relative_to(folder).as_posix()}\0{size}\0".encode())
        with path.open("rb") as weights:
            if size <= WHOLE_UP_TO:
                digest.update(weights.read())
                continue
            for offset in range(0, size, size // SAMPLES):
                weights.seek(offset)
                digest.update(weights.read(SAMPLE_BYTES))
    return digest.hexdigest()


def export_is_stale(record: dict, weights_dir: str | Path) -> bool:
    """Whether an export record names weights other than those `weights_dir` holds now (a model trained again into
    its folder after `vaner export-onnx`). An export of a Hub repo records no fingerprint and is taken as it is."""
    recorded = record.get(WEIGHTS_KEY)
    return recorded is not None and recorded != weights_fingerprint(weights_dir)

"""Where a model runs on the CPU: PyTorch, or its ONNX export on ONNX Runtime (`onnx_runtime`), in float32 or int8;
`auto` picks the fastest that keeps the model's answers. No torch here: the command line reads these names before
anything loads."""

import importlib.util
import json
from pathlib import Path

from .embedded import DEFAULT_MODEL_DIR
from .errors import UsageError

ONNX_FOLDER = "onnx"  # beside the weights, the Hub layout ONNX users expect
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}  # by runtime name
RUNTIMES = ("torch", *ONNX_FILES)
AUTO = "auto"
# Written beside the graphs by `export_onnx`: how far each graph's logits are from PyTorch's on a padded batch.
EXPORT_RECORD = "export.json"
AGREES_WITHIN = 1e-4  # a float32 graph this close to PyTorch gives its answers; `auto` takes no other


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


def resolve_runtime(model: str | None, runtime: str, device: str | None) -> str:
    """`runtime` as asked, or for `auto` the fastest runtime that keeps the model's answers: ONNX Runtime in float32
    where it is installed, the model runs on the CPU, and its export (`vaner export-onnx`) matched PyTorch's logits
    when it was written; else PyTorch. int8 changes answers (docs/benchmarks.md): it runs only when asked for."""
    if runtime != AUTO:
        return runtime
    if (device or "auto") not in ("auto", "cpu") or importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    if device in (None, "auto"):
        import torch

        if torch.cuda.is_available():
            return "torch"
    return "onnx" if export_agrees(onnx_home(model)) else "torch"


def export_agrees(folder: Path, runtime: str = "onnx") -> bool:
    """Whether `folder` (a local model folder) holds `runtime`'s graph and its export record says it gave PyTorch's
    logits, within `AGREES_WITHIN`."""
    record = Path(folder) / ONNX_FOLDER / EXPORT_RECORD
    if not onnx_path(folder, runtime).is_file() or not record.is_file():
        return False
    try:
        difference = json.loads(record.read_text(encoding="utf-8"))[ONNX_FILES[runtime]]["max_abs_logit_difference"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(difference, int | float) and difference <= AGREES_WITHIN

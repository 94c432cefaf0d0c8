"""Where a model runs on the CPU: PyTorch, or its ONNX export on ONNX Runtime (`onnx_runtime`), in float32 or int8.
No torch here: the command line reads these names before anything loads."""

from pathlib import Path

from .embedded import DEFAULT_MODEL_DIR
from .errors import UsageError

ONNX_FOLDER = "onnx"  # beside the weights, the Hub layout ONNX users expect
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}  # by runtime name
RUNTIMES = ("torch", *ONNX_FILES)


def onnx_path(model_dir: str | Path, runtime: str = "onnx") -> Path:
    """Where a model folder keeps its ONNX graph for `runtime` (`onnx` or `onnx-int8`)."""
    return Path(model_dir) / ONNX_FOLDER / ONNX_FILES[runtime]


def export_command(model: str | None, runtime: str) -> str:
    """The command that writes `model`'s graph for `runtime` (None: the default model)."""
    return "vaner export-onnx" + (f" --model {model}" if model else "") + (" --int8" if runtime == "onnx-int8" else "")


def check_runtime(model: str | None, runtime: str, device: str | None) -> None:
    """Before anything loads: `onnx` or `onnx-int8` runs on the CPU, from the graph a model folder holds (`model`
    None: the default model; a Hub repo's graph is fetched as it loads). `UsageError` about `runtime` otherwise."""
    if runtime == "torch":
        return
    if (device or "auto") not in ("auto", "cpu"):
        raise UsageError(f"{runtime} runs on the CPU, not on device {device}").about("runtime")
    folder = Path(model or DEFAULT_MODEL_DIR)
    if folder.is_dir() and not onnx_path(folder, runtime).is_file():
        raise UsageError(
            f"{runtime}: {folder} has no {onnx_path('', runtime)}; write it with `{export_command(model, runtime)}`"
        ).about("runtime")

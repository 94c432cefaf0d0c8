"""Where a model runs on the CPU: PyTorch, or its ONNX export on ONNX Runtime (`onnx_runtime`), in float32 or int8.
No torch here: the command line reads these names before anything loads."""

from pathlib import Path

ONNX_FOLDER = "onnx"  # beside the weights, the Hub layout ONNX users expect
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}  # by runtime name
RUNTIMES = ("torch", *ONNX_FILES)


def onnx_path(model_dir: str | Path, runtime: str = "onnx") -> Path:
    """Where a model folder keeps its ONNX graph for `runtime` (`onnx` or `onnx-int8`)."""
    return Path(model_dir) / ONNX_FOLDER / ONNX_FILES[runtime]


def export_command(model: str | None, runtime: str) -> str:
    """The command that writes `model`'s graph for `runtime` (None: the default model)."""
    return "vaner export-onnx" + (f" --model {model}" if model else "") + (" --int8" if runtime == "onnx-int8" else "")

"""VANER on ONNX Runtime, for CPUs: the model exported once (`export_onnx`, `vaner export-onnx`) into the Hub layout
ONNX users expect (`onnx/model.onnx` beside the weights), then run by `OnnxVanerModel`, which answers the calls
`VanerTagger` makes of a PyTorch model. Sentences, windows, labels, spans and linking are the same code either way.

The export keeps VANER bidirectional: the padding mask goes into the graph as an attention bias (no causal mask, and
no fused attention kernel that assumes one), shape-dynamic in batch and length; a head per type exports as it is.
Needs `pip install 'vaner[onnx]'` (onnxruntime, onnx, onnxscript).
"""

import sys
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from transformers import AutoTokenizer

from .configuration_vaner import VanerConfig
from .errors import UsageError
from .files import write_json_atomically, written_in_place_of
from .loading import load_vaner
from .pipeline_vaner import check_batch, logit_record
from .processing_vaner import ONNX_CHECKS, ONNX_FILES
from .runtimes import (
    INT8_RECIPE,
    WEIGHTS_KEY,
    export_command,
    onnx_home,
    onnx_path,
    resolve_runtime,
    weights_dir_of,
    weights_fingerprint,
)

# How an export is put in int8, by name. `benchmarks/cpu_int8.py` scores each on the core corpora's devel slices
# against PyTorch (benchmarks/results/cpu_int8.json, docs/benchmarks.md); `runtimes.INT8_RECIPE` is the one it chose.
# dynamic: int8 weights, activations put in int8 per tensor as they come (MatMulInteger); weights-8bit: int8 weights
# in blocks along the input (MatMulNBits), activations put in int8 per block of the same size (accuracy level 4).
INT8_RECIPES = {
    "dynamic": {"kind": "dynamic", "per_channel": False, "reduce_range": False, "embeddings": True, "head": True},
    "dynamic-per-channel": {
        "kind": "dynamic",
        "per_channel": True,
        "reduce_range": True,
        "embeddings": True,
        "head": True,
    },
    "dynamic-linear": {
        "kind": "dynamic",
        "per_channel": True,
        "reduce_range": True,
        "embeddings": False,
        "head": False,
    },
    "weights-8bit-b128": {"kind": "weights-8bit", "block_size": 128},
    "weights-8bit-b32": {"kind": "weights-8bit", "block_size": 32},
    "weights-8bit-b16": {"kind": "weights-8bit", "block_size": 16},
}


def export_onnx(model, output_dir: str | Path, int8: bool = False, weights_dir: str | Path | None = None) -> list[Path]:
    """Write `model` (a VANER model with merged weights; put in float32 and eval mode) into `output_dir/onnx/` with
    transformers' exporter (`model.onnx`, its weights in `model.onnx.data`, and the manifest `export.json` that
    `transformers.exporters.ExportedModel.from_pretrained` reads), and with `int8` its int8 version beside it
    (`model_int8.onnx`, `INT8_RECIPE`), then the record of how close each came to PyTorch's logits (`ONNX_CHECKS`),
    written last: a graph without it never runs unasked. With `weights_dir` (the folder `model` was loaded from) the
    record keeps its weights' fingerprint, so that an export older than the weights is known. Returns the graphs."""
    from torch.export import Dim
    from transformers.exporters import OnnxConfig, OnnxExporter

    graph = onnx_path(output_dir)
    model = model.float().eval()
    ids, mask = check_batch(model.config.vocab_size)  # a padded row: the mask stays an input, never a constant
    shape = {0: Dim("batch"), 1: Dim("length", min=2)}
    settings = OnnxConfig(dynamic_shapes={"input_ids": shape, "attention_mask": shape})
    (graph.parent / ONNX_CHECKS).unlink(missing_ok=True)  # the graphs change: their old record goes first
    with torch.no_grad(), redirect_stdout(sys.stderr), quiet_exporter():  # its progress is not output
        exported = OnnxExporter().export(model, {"input_ids": ids, "attention_mask": mask}, settings)
    exported.config = None  # the model's config and code are beside the weights already
    exported.save_pretrained(graph.parent)
    written = [graph]
    if int8:
        with written_in_place_of(onnx_path(output_dir, "onnx-int8")) as partial:
            quantize_int8(graph, partial)
        written.append(onnx_path(output_dir, "onnx-int8"))
    record = export_record(model, written, ids, mask)
    if int8:
        record[ONNX_FILES["onnx-int8"]]["recipe"] = INT8_RECIPE
    if weights_dir is not None:
        record[WEIGHTS_KEY] = weights_fingerprint(weights_dir)
    write_json_atomically(graph.parent / ONNX_CHECKS, record)
    return written


@contextmanager
def quiet_exporter():
    """transformers' exporter says it is experimental and which versions it was tested with, at every export."""
    from transformers.utils import logging

    level = logging.get_verbosity()
    logging.set_verbosity_error()
    try:
        yield
    finally:
        logging.set_verbosity(level)


def export_record(model, graphs: list[Path], ids: torch.Tensor, mask: torch.Tensor) -> dict:
    """For each graph, the largest difference of its logits from `model`'s on `ids` (a padded batch), over the
    positions the mask keeps, and the largest of `model`'s logits there: what `processing_vaner.export_agrees` reads
    before a graph runs unasked."""
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits
    record = {}
    for graph in graphs:
        logits = OnnxVanerModel(graph, model.config)(input_ids=ids, attention_mask=mask).logits
        record[graph.name] = {**logit_record(logits, expected, mask), "batch": list(ids.shape), "padded_rows": 1}
    return record


def quantize_int8(graph: str | Path, output: str | Path, recipe: str = INT8_RECIPE) -> None:
    """Write `graph` (a float32 export) in int8 to `output`, by `recipe` (a name in `INT8_RECIPES`). The embedding
    table and the head stay float32 where the recipe says so (`embeddings`, `head` False), as do matrix products of
    two activations (attention)."""
    import logging

    import onnx

    settings = INT8_RECIPES[recipe]
    head = classifier_node(onnx.load(str(graph), load_external_data=False))
    if settings["kind"] == "dynamic":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(
            graph,
            output,
            weight_type=QuantType.QInt8,
            per_channel=settings["per_channel"],
            reduce_range=settings["reduce_range"],
            op_types_to_quantize=["MatMul", "Gather"] if settings["embeddings"] else ["MatMul"],
            nodes_to_exclude=[] if settings["head"] else [head],
        )
        return
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    block = {"block_size": settings["block_size"], "is_symmetric": True, "accuracy_level": 4, "bits": 8}
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)  # a line a node
    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(graph)), **block, nodes_to_exclude=[head], algo_config=DefaultWeightOnlyQuantConfig(**block)
    )
    quantizer.process()
    quantizer.model.save_model_to_file(str(output), use_external_data_format=False)


def classifier_node(graph) -> str:
    """The name of the head's matrix product in an exported VANER graph (an `onnx.ModelProto`): the last MatMul by a
    weight, since the head is the graph's last layer."""
    weights = {tensor.name for tensor in graph.graph.initializer}
    return [node.name for node in graph.graph.node if node.op_type == "MatMul" and node.input[1] in weights][-1]


def write_onnx_folder(model: str | None, output: str | None, int8: bool = False) -> list[Path]:
    """`vaner export-onnx`: `model` (a folder or Hub id; None: the default model) exported into `output/onnx/`
    (default: the model's own folder), with its config and tokenizer beside it when `output` is a folder of its own,
    so that `output` runs with `--runtime onnx`."""
    if output is None and model is not None and not Path(model).is_dir():
        raise UsageError(f"{model} is not a folder here: name the folder to write (output)").about("model")
    output = Path(output or onnx_home(model))  # the default model's export goes to the VANER cache
    vaner, tokenizer = load_vaner(model, dtype=torch.float32, device="cpu")
    if not (output / "config.json").is_file():
        output.mkdir(parents=True, exist_ok=True)
        vaner.config.save_pretrained(output)
        tokenizer.save_pretrained(output)
    source = weights_dir_of(model)
    return export_onnx(vaner, output, int8, weights_dir=source if source.is_dir() else None)


class OnnxVanerModel(torch.nn.Module):
    """An ONNX Runtime session behind the calls `VanerTagger` makes of a VANER model: `config`, `parameters()` (on the
    CPU) and `model(input_ids=..., attention_mask=...).logits`, a float tensor of the graph's shape."""

    def __init__(self, graph: str | Path, config, threads: int | None = None):
        import onnxruntime

        super().__init__()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.graph = str(graph)
        self.session = onnxruntime.InferenceSession(self.graph, options, providers=["CPUExecutionProvider"])
        self.config = config
        self.anchor = torch.nn.Parameter(torch.zeros(1), requires_grad=False)  # where the tagger puts its inputs

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **kwargs) -> SimpleNamespace:
        feed = {"input_ids": input_ids.cpu().numpy(), "attention_mask": attention_mask.cpu().numpy().astype(np.int64)}
        return SimpleNamespace(logits=torch.from_numpy(self.session.run(["logits"], feed)[0]))


def load_onnx(model: str | Path, runtime: str = "onnx", threads: int | None = None):
    """`(OnnxVanerModel, tokenizer)` of a model folder or Hub repo that holds its ONNX export (`vaner export-onnx`)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise UsageError(f"{runtime} needs ONNX Runtime: pip install 'vaner[onnx]'").about("runtime") from None
    folder = Path(model)
    if not folder.is_dir():  # a Hub repo: its config, tokenizer and graphs, never its PyTorch weights
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(str(model), allow_patterns=["*.json", "*.jinja", f"{onnx_path('.').parent}/*"]))
    graph = onnx_path(folder, runtime)
    if not graph.is_file():
        raise UsageError(
            f"{runtime}: {model} has no {graph.relative_to(folder)}; write it with `{export_command(str(model), runtime)}`"
        ).about("runtime")
    return OnnxVanerModel(graph, VanerConfig.from_pretrained(folder), threads), AutoTokenizer.from_pretrained(folder)


def load_for_runtime(model=None, runtime: str = "auto", dtype=None, device: str | None = "auto", threads=None):
    """`(model, tokenizer)` to tag with: `load_vaner` for PyTorch, or the model's ONNX export on ONNX Runtime
    (`runtime` onnx or onnx-int8, on the CPU with `threads`; `auto`: `runtimes.resolve_runtime`; `model` None: the
    default model). Which ran is `runtime_of(model)`."""
    runtime = resolve_runtime(model, runtime, device)
    if runtime == "torch":
        return load_vaner(model, dtype=dtype, device=device)
    return load_onnx(onnx_home(model), runtime, threads)


def runtime_of(model) -> str:
    """The runtime a loaded model runs on: `onnx` or `onnx-int8` (its graph's), else `torch`."""
    if isinstance(model, OnnxVanerModel):
        return next(name for name, file in ONNX_FILES.items() if Path(model.graph).name == file)
    return "torch"

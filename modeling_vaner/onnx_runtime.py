"""VANER on ONNX Runtime, for CPUs: the model exported once (`export_onnx`, `vaner export-onnx`) into the Hub layout
ONNX users expect (`onnx/model.onnx` beside the weights), then run by `OnnxVanerModel`, which answers the calls
`VanerTagger` makes of a PyTorch model. Sentences, windows, labels, spans and linking are the same code either way.

The export keeps VANER bidirectional: the padding mask goes into the graph as an attention bias (no causal mask, and
no fused attention kernel that assumes one), shape-dynamic in batch and length; a head per type exports as it is.
Needs `pip install 'vaner[onnx]'` (onnxruntime, onnx, onnxscript).
"""

import sys
from contextlib import redirect_stdout
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from .errors import UsageError
from .files import write_json_atomically, written_in_place_of
from .runtimes import EXPORT_RECORD, ONNX_FILES, export_command, onnx_home, onnx_path, resolve_runtime


def export_onnx(model, output_dir: str | Path, int8: bool = False) -> list[Path]:
    """Write `model` (a VANER model with merged weights; put in float32 and eval mode) as `output_dir/onnx/model.onnx`, and with `int8`
    its dynamic int8 quantization beside it (`model_int8.onnx`: weights per channel, `reduce_range` as ONNX Runtime
    advises for CPUs without VNNI). Each file appears whole or not at all. Returns the files written."""
    graph = onnx_path(output_dir)
    graph.parent.mkdir(parents=True, exist_ok=True)
    model = model.float().eval()
    ids = torch.randint(3, model.config.vocab_size, (2, 12))
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0  # a padded row: the graph keeps the padding mask as an input, never a constant
    dynamic = {0: "batch", 1: "length"}
    with (
        written_in_place_of(graph) as partial,
        torch.no_grad(),
        redirect_stdout(sys.stderr),
    ):  # its progress is not output
        torch.onnx.export(
            model,
            (ids, mask),
            str(partial),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_shapes={"input_ids": dynamic, "attention_mask": dynamic},
            dynamo=True,
            external_data=False,
        )
    written = [graph]
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        with written_in_place_of(onnx_path(output_dir, "onnx-int8")) as partial:
            quantize_dynamic(graph, partial, weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
        written.append(onnx_path(output_dir, "onnx-int8"))
    write_json_atomically(graph.parent / EXPORT_RECORD, export_record(model, written, ids, mask))
    return written


def export_record(model, graphs: list[Path], ids: torch.Tensor, mask: torch.Tensor) -> dict:
    """For each graph, the largest difference of its logits from `model`'s on `ids` (a padded batch), over the
    positions the mask keeps: what `runtimes.resolve_runtime` reads before it runs a graph unasked."""
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits
    kept = mask.bool()
    record = {}
    for graph in graphs:
        logits = OnnxVanerModel(graph, model.config)(input_ids=ids, attention_mask=mask).logits
        difference = (logits[kept] - expected[kept]).abs().max().item()
        record[graph.name] = {"max_abs_logit_difference": difference, "batch": list(ids.shape), "padded_rows": 1}
    return record


def write_onnx_folder(model: str | None, output: str | None, int8: bool = False) -> list[Path]:
    """`vaner export-onnx`: `model` (a folder or Hub id; None: the default model) exported into `output/onnx/`
    (default: the model's own folder), with its config and tokenizer beside it when `output` is a folder of its own,
    so that `output` runs with `--runtime onnx`."""
    from .loading import load_vaner

    if output is None and model is not None and not Path(model).is_dir():
        raise UsageError(f"{model} is not a folder here: name the folder to write (output)").about("model")
    output = Path(output or onnx_home(model))  # the default model's export goes to the VANER cache
    vaner, tokenizer = load_vaner(model, dtype=torch.float32, device="cpu")
    if not (output / "config.json").is_file():
        output.mkdir(parents=True, exist_ok=True)
        vaner.config.save_pretrained(output)
        tokenizer.save_pretrained(output)
    return export_onnx(vaner, output, int8)


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
    from transformers import AutoTokenizer

    from .configuration_vaner import VanerConfig

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
    from .loading import load_vaner

    runtime = resolve_runtime(model, runtime, device)
    if runtime == "torch":
        return load_vaner(model, dtype=dtype, device=device)
    return load_onnx(onnx_home(model), runtime, threads)


def runtime_of(model) -> str:
    """The runtime a loaded model runs on: `onnx` or `onnx-int8` (its graph's), else `torch`."""
    if isinstance(model, OnnxVanerModel):
        return next(name for name, file in ONNX_FILES.items() if Path(model.graph).name == file)
    return "torch"

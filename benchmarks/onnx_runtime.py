"""ONNX Runtime against our PyTorch runner on this CPU (default model, the fixed benchmark slice).

    .venv/bin/python benchmarks/onnx_runtime.py [--sentences 2000] [--int8]

Exports the merged default model as `vaner export-onnx` does (`onnx_runtime.export_onnx`: dynamo, batch and length
dynamic, the bidirectional padding mask in the graph), then tags the slice through `VanerTagger` on
`OnnxVanerModel` (`--runtime onnx`): the same length-sorted batches of 16, the same positions read. Compared with the PyTorch runner in fp32 and bf16
autocast: words/s, words whose tag differs from PyTorch fp32, strict F1. `--int8` adds ONNX Runtime's dynamic int8
quantization of the exported graph with every default (per tensor, the recipe measured in onnx_runtime.md;
`vaner export-onnx --int8` quantizes per channel with reduce_range, benchmarks/cpu_runtime.py).
Needs `pip install -e ".[onnx]"` (onnxruntime, onnx, onnxscript: the extra `--runtime onnx` needs too).
"""

import argparse
import tempfile
import time
from pathlib import Path

import evaluate
import torch
from throughput import fixed_slice, load_default

from harness.runner import METRIC_PATH, with_type
from modeling_vaner.corpora import get_corpus
from modeling_vaner.onnx_runtime import OnnxVanerModel, export_onnx


def main() -> None:
    import onnxruntime

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--int8", action="store_true", help="also time ONNX Runtime's dynamic int8 quantization")
    args = parser.parse_args()

    items = fixed_slice(args.sentences)
    words = sum(len(words) for _, words, _ in items)
    metric = evaluate.load(str(METRIC_PATH))

    def strict_f1(tags):
        kinds = [get_corpus(name).entity_type for name, _, _ in items]
        result = metric.compute(
            predictions=[with_type(t, k) for t, k in zip(tags, kinds)],
            references=[with_type(gold, k) for (_, _, gold), k in zip(items, kinds)],
        )
        return 100 * result["f1"]

    def run(tagger):
        requests = [(w, tagger.config.instruction(get_corpus(name).entity_type, name)) for name, w, _ in items]
        tagger.tag_words(requests[:64], args.batch_size)  # warm-up
        start = time.perf_counter()
        tags = [tags for tags, _ in tagger.tag_words(requests, args.batch_size)]
        return words / (time.perf_counter() - start), tags

    results = {}
    fp32, _ = load_default(torch.float32)
    results["PyTorch fp32 (SDPA)"] = run(fp32)
    bf16, _ = load_default(torch.bfloat16)
    results["PyTorch bf16 (SDPA), the runner"] = run(bf16)
    del bf16
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        [graph] = export_onnx(fp32.model, folder)  # what `vaner export-onnx` writes
        print(f"export: {time.perf_counter() - start:.0f} s")
        graphs = {"ONNX Runtime fp32": graph}
        if args.int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            graphs["ONNX Runtime int8 (dynamic)"] = Path(folder) / "vaner-int8.onnx"
            quantize_dynamic(str(graph), str(graphs["ONNX Runtime int8 (dynamic)"]), weight_type=QuantType.QInt8)
        for label, path in graphs.items():  # the tagger's own forward, on `--runtime onnx`'s model
            fp32.model = OnnxVanerModel(path, fp32.config)
            results[label] = run(fp32)
    reference = results["PyTorch fp32 (SDPA)"][1]
    print(
        f"{len(items)} sentences, {words} words, {torch.get_num_threads()} threads, onnxruntime "
        f"{onnxruntime.__version__}"
    )
    print("| forward | words/s | words differing from PyTorch fp32 | strict F1 |")
    print("|---|---|---|---|")
    for label, (rate, tags) in results.items():
        differ = sum(a != b for mine, theirs in zip(tags, reference) for a, b in zip(mine, theirs))
        print(f"| {label} | {rate:.0f} | {differ} of {words} | {strict_f1(tags):.2f} |")


if __name__ == "__main__":
    main()

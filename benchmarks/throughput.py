"""Inference and training throughput of the default VANER model, against the paper-style loop and this CPU's limit.

    .venv/bin/python benchmarks/throughput.py [--sentences 2000] [--output benchmarks/results/throughput.json]

One run on one machine, every figure beside the others:
- the ceiling: bf16 and fp32 matrix-multiply GFLOP/s on this CPU (best of a few GEMM shapes), turned into a tokens/s
  ceiling = GFLOP/s / (2 x non-embedding parameters) for inference, / (6 x ...) for training;
- inference on a fixed slice (the first N/2 test sentences of NCBI-disease, then of BC2GM, each tagged for its corpus's
  entity type with its corpus's instruction, bf16 weights), three ways on the same model inputs:
  (a) our runner (`VanerTagger`: length-sorted batches, no padding waste), with SDPA and with eager attention,
  (b) the paper-style loop: transformers `Trainer.predict` (the loop of `Trainer.evaluate`), batch 4, dataset order,
      padding to the longest in each batch, with the gold labels so the loss is computed as in evaluation,
  (c) one model call per sentence and entity type, unbatched;
  words/s, tokens/s (instruction and sentence tokens, padding not counted), the fraction of the bf16 ceiling,
  whether the word-level predictions are identical to (a)'s, and the strict entity F1 of each against the gold tags;
- training: tokens/s of a LoRA step (the default recipe) and of a full fine-tuning step (bf16 autocast, AdamW);
- peak RSS of each part: every part runs in its own process.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from modeling_vaner.pipeline_vaner import blank_labels, place_labels
from modeling_vaner.processing_vaner import Request

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ("NCBI-disease", "BC2GM")
PARTS = ("ceiling", "runner", "runner-eager", "paper", "unbatched", "train-lora", "train-full")
INFERENCE = ("runner", "runner-eager", "paper", "unbatched")


def fixed_slice(sentences: int) -> list[tuple[str, list[str], list[str]]]:
    """`(corpus, words, gold tags)`: the first NCBI-disease test sentences (at most half), then BC2GM's up to N."""
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.processing_vaner import VANER_LABELS

    out = []
    for index, name in enumerate(CORPORA):
        data = load_corpus(name, "test")
        wanted = sentences // len(CORPORA) if index == 0 else sentences - len(out)
        data = data.select(range(min(wanted, len(data))))
        out += [(name, words, [VANER_LABELS[t] for t in tags]) for words, tags in zip(data["tokens"], data["ner_tags"])]
    return out


def requests_for(tagger, sentences: int):
    """`(words, instruction)` requests of the fixed slice (each corpus's type and guidelines), the gold tags and the
    word count."""
    from modeling_vaner.corpora import get_corpus

    items = fixed_slice(sentences)
    requests = [(words, tagger.config.instruction(get_corpus(name).entity_type, name)) for name, words, _ in items]
    return requests, [gold for _, _, gold in items], sum(len(words) for _, words, _ in items)


def load_default(dtype, model_path=None, pack_tokens=None):
    """A tagger on the default model (or `model_path`), run as it was trained unless `pack_tokens` says."""
    from modeling_vaner import VanerTagger, load_vaner

    model, tokenizer = load_vaner(model_path, dtype=dtype)
    return VanerTagger(model.eval(), tokenizer, pack_tokens=pack_tokens), tokenizer


def gemm_gflops(dtype, repeats: int = 5) -> dict:
    """GFLOP/s of `a @ b` for square and model-shaped (tokens x hidden @ hidden x intermediate) GEMMs."""
    shapes = {
        "2048x2048x2048": (2048, 2048, 2048),
        "4096x576x1536": (4096, 576, 1536),
        "4096x1536x576": (4096, 1536, 576),
    }
    figures = {}
    for name, (m, k, n) in shapes.items():
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        a @ b
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - start)
        figures[name] = 2 * m * k * n / sorted(times)[len(times) // 2] / 1e9
    return figures


def part_ceiling(args) -> dict:
    from transformers import AutoConfig

    from modeling_vaner.backbone import convert_smollm2
    from modeling_vaner.modeling_vaner import VanerModel

    config = AutoConfig.from_pretrained(convert_smollm2())
    with torch.device("meta"):
        backbone = VanerModel(config)
    parameters = sum(p.numel() for name, p in backbone.named_parameters() if "embed_tokens" not in name)
    gemm = {str(dtype).removeprefix("torch."): gemm_gflops(dtype) for dtype in (torch.bfloat16, torch.float32)}
    return {
        "non_embedding_parameters": parameters,
        "gemm_gflops": gemm,
        "best_gflops": {dtype: max(figures.values()) for dtype, figures in gemm.items()},
    }


def run_inference(args, forward, attention: str = "sdpa") -> dict:
    """Time `forward(tagger, rows, label_ids, scores, gold)`, which fills each request's word labels, on the slice;
    tags decoded the same way for every loop."""
    tagger, _ = load_default(torch.bfloat16)
    tagger.model.set_attn_implementation(attention)
    requests, gold, words = requests_for(tagger, args.sentences)
    requests = [Request(*request) for request in requests]
    rows = tagger.encoder.encode(requests)
    label_ids, scores = blank_labels(requests)
    start = time.perf_counter()
    forward(tagger, rows, label_ids, scores, gold)
    seconds = time.perf_counter() - start
    tags = [heads[0][0] for heads in tagger.tags(label_ids, scores)]  # one shared head
    return {
        "seconds": seconds,
        "words": words,
        "requests": len(requests),
        "rows": len(rows),
        "tokens": sum(len(row.input_ids) for row in rows),
        "tags": tags,
    }


def part_runner(args, attention: str = "sdpa") -> dict:
    def forward(tagger, rows, label_ids, scores, gold):
        # What VanerTagger.tag_words does, on the rows already encoded: length-sorted batches.
        ordered = sorted(rows, key=lambda row: len(row.input_ids))
        for start in range(0, len(ordered), args.batch_size):
            batch = ordered[start : start + args.batch_size]
            probabilities = tagger._forward([row.input_ids for row in batch], [row.positions for row in batch])
            place_labels(batch, probabilities, label_ids, scores)

    return run_inference(args, forward, attention)


def part_unbatched(args) -> dict:
    def forward(tagger, rows, label_ids, scores, gold):
        for row in rows:
            place_labels([row], tagger._forward([row.input_ids], [row.positions]), label_ids, scores)

    return run_inference(args, forward)


def part_paper(args) -> dict:
    from datasets import Dataset
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments

    from modeling_vaner.training import LABEL_IDS

    def forward(tagger, rows, label_ids, scores, gold):
        features = [
            {
                "input_ids": row.input_ids,
                "attention_mask": [1] * len(row.input_ids),
                "labels": row.labels(gold, LABEL_IDS),
            }
            for row in rows
        ]  # dataset order, as the paper's code
        with tempfile.TemporaryDirectory() as output_dir:
            trainer = Trainer(
                model=tagger.model,
                args=TrainingArguments(
                    output_dir=output_dir,
                    per_device_eval_batch_size=4,
                    use_cpu=True,
                    report_to="none",
                    dataloader_num_workers=0,
                ),
                data_collator=DataCollatorForTokenClassification(tagger.tokenizer),
            )
            logits = trainer.predict(Dataset.from_list(features)).predictions  # [rows, longest, labels], -100 pads
        for row, row_logits in zip(rows, logits):
            probabilities = torch.from_numpy(row_logits[row.positions]).float().softmax(-1)
            place_labels([row], probabilities, label_ids, scores)

    return run_inference(args, forward)


def part_train(args, lora: bool) -> dict:
    from modeling_vaner.training import TrainConfig, initial_model, wrap_lora

    config = TrainConfig.from_yaml(ROOT / "configs" / "default_smollm2.yaml")
    model, _ = initial_model(config)
    if lora:
        model = wrap_lora(model, config)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    batch, length = args.train_batch, args.train_length
    input_ids = torch.randint(100, 40000, (batch, length), generator=generator)
    labels = torch.randint(0, 3, (batch, length), generator=generator)
    times = []
    for step in range(args.train_steps + 1):  # the first step is a warm-up
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:
            times.append(time.perf_counter() - start)
    median = sorted(times)[len(times) // 2]
    return {
        "tokens_per_step": batch * length,
        "seconds_per_step": median,
        "tokens_per_second": batch * length / median,
        "trainable_parameters": sum(p.numel() for p in trainable),
    }


def run_part(args, part: str) -> dict:
    """Run one part in a fresh process, so that its peak RSS is its own."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [
            sys.executable,
            __file__,
            "--part",
            part,
            "--part-output",
            out.name,
            "--sentences",
            str(args.sentences),
            "--batch-size",
            str(args.batch_size),
            "--train-steps",
            str(args.train_steps),
            "--train-batch",
            str(args.train_batch),
            "--train-length",
            str(args.train_length),
        ]
        print(f"[{part}] ...", flush=True)
        subprocess.run(command, check=True)
        return json.loads(Path(out.name).read_text())


def compare(tags, reference) -> dict:
    words = sum(map(len, reference))
    differing = sum(a != b for sentence, ref in zip(tags, reference) for a, b in zip(sentence, ref))
    return {"identical": tags == reference, "differing_words": differing, "words": words}


def strict_f1_scorer(sentences: int):
    """`score(tags) -> strict entity F1` (the harness's metric) on the slice, both corpora together."""
    import evaluate

    from harness.runner import METRIC_PATH, with_type
    from modeling_vaner.corpora import get_corpus

    items = fixed_slice(sentences)
    types = [get_corpus(name).entity_type for name, _, _ in items]
    references = [with_type(gold, kind) for (_, _, gold), kind in zip(items, types)]
    metric = evaluate.load(str(METRIC_PATH))

    def score(tags) -> float:
        predictions = [with_type(t, kind) for t, kind in zip(tags, types)]
        return metric.compute(predictions=predictions, references=references)["f1"]

    return score


def report(args, results: dict) -> dict:
    ceiling = results["ceiling"]
    parameters = ceiling["non_embedding_parameters"]
    inference_ceiling = {dtype: gflops * 1e9 / (2 * parameters) for dtype, gflops in ceiling["best_gflops"].items()}
    training_ceiling = {dtype: gflops * 1e9 / (6 * parameters) for dtype, gflops in ceiling["best_gflops"].items()}
    summary = {
        "machine": {"cpu_threads": torch.get_num_threads(), "torch": torch.__version__},
        "ceiling": {
            **ceiling,
            "inference_tokens_per_second": inference_ceiling,
            "training_tokens_per_second": training_ceiling,
        },
        "inference": {},
        "training": {},
    }
    reference = results["runner"]["tags"]
    paper_words_per_second = results["paper"]["words"] / results["paper"]["seconds"]
    print(
        f"\nCPU: {torch.get_num_threads()} threads; GEMM GFLOP/s bf16 {ceiling['best_gflops']['bfloat16']:.0f}, "
        f"fp32 {ceiling['best_gflops']['float32']:.0f}; non-embedding parameters {parameters / 1e6:.1f} M -> "
        f"inference ceiling bf16 {inference_ceiling['bfloat16']:.0f} tokens/s, fp32 "
        f"{inference_ceiling['float32']:.0f}\n"
    )
    print(
        "| inference (bf16) | words/s | tokens/s | of bf16 ceiling | vs paper loop | predictions vs runner | strict F1 "
        "| peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|")
    labels = {
        "runner": f"(a) our runner, batch {args.batch_size}, SDPA",
        "runner-eager": f"(a) our runner, batch {args.batch_size}, eager attention",
        "paper": "(b) paper-style Trainer.predict, batch 4",
        "unbatched": "(c) unbatched, one call per row",
    }
    strict_f1 = strict_f1_scorer(args.sentences)
    for part in INFERENCE:
        result = results[part]
        words_per_second, tokens_per_second = result["words"] / result["seconds"], result["tokens"] / result["seconds"]
        agreement = compare(result["tags"], reference)
        f1 = strict_f1(result["tags"])
        summary["inference"][part] = {
            "seconds": result["seconds"],
            "words": result["words"],
            "tokens": result["tokens"],
            "rows": result["rows"],
            "words_per_second": words_per_second,
            "tokens_per_second": tokens_per_second,
            "fraction_of_bf16_ceiling": tokens_per_second / inference_ceiling["bfloat16"],
            "speedup_vs_paper_loop": words_per_second / paper_words_per_second,
            **agreement,
            "strict_f1": f1,
            "peak_rss_mib": result["peak_rss_mib"],
        }
        same = (
            "identical"
            if agreement["identical"]
            else f"{agreement['differing_words']} of {agreement['words']} words differ"
        )
        print(
            f"| {labels[part]} | {words_per_second:.0f} | {tokens_per_second:.0f} | "
            f"{tokens_per_second / inference_ceiling['bfloat16']:.0%} | {words_per_second / paper_words_per_second:.2f}x "
            f"| {same} | {100 * f1:.2f} | {result['peak_rss_mib']:.0f} MiB |"
        )
    print(
        f"\n| training step (bf16 autocast, {args.train_batch} x {args.train_length} tokens) | tokens/s | "
        "of bf16 training ceiling | trainable parameters | peak RSS |"
    )
    print("|---|---|---|---|---|")
    for part in ("train-lora", "train-full"):
        result = results[part]
        fraction = result["tokens_per_second"] / training_ceiling["bfloat16"]
        summary["training"][part] = {**result, "fraction_of_bf16_training_ceiling": fraction}
        print(
            f"| {part} | {result['tokens_per_second']:.0f} | {fraction:.0%} | "
            f"{result['trainable_parameters'] / 1e6:.1f} M | {result['peak_rss_mib']:.0f} MiB |"
        )
    summary["slice"] = {
        "corpora": CORPORA,
        "sentences": results["runner"]["requests"],
        "words": results["runner"]["words"],
        "model_inputs": results["runner"]["rows"],
    }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=2000, help="half from each corpus")
    parser.add_argument("--batch-size", type=int, default=16, help="our runner's batch size")
    parser.add_argument("--train-steps", type=int, default=3)
    parser.add_argument("--train-batch", type=int, default=16)
    parser.add_argument("--train-length", type=int, default=128)
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "results" / "throughput.json"))
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    parser.add_argument("--part-output", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.part:
        os.environ.setdefault("TQDM_DISABLE", "1")
        run = {
            "ceiling": part_ceiling,
            "runner": part_runner,
            "runner-eager": lambda a: part_runner(a, "eager"),
            "paper": part_paper,
            "unbatched": part_unbatched,
            "train-lora": lambda a: part_train(a, lora=True),
            "train-full": lambda a: part_train(a, lora=False),
        }
        result = run[args.part](args)
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        Path(args.part_output).write_text(json.dumps(result))
        return

    results = {part: run_part(args, part) for part in PARTS}
    summary = report(args, results)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\nWritten: {output}")


if __name__ == "__main__":
    main()

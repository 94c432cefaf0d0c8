"""`vaner predict --output DIR` at scale (issue 26): peak memory against corpus size, and documents/s and words/s
with 1 and 2 worker processes and through a local Ray cluster, on this machine's CPUs.

- Peak RSS (the whole process tree, sampled every 0.1 s) at 1k, 10k and 100k documents: the BC5CDR test set's
  500 PubTator abstracts repeated, tagged for one type by a tiny random VANER (SmolLM2's tokenizer, 2 layers of
  64), so that 100k documents take minutes; the reading, sharding, tagging and writing are the real ones.
- Throughput: the same job in one process (2 threads), 2 workers (1 thread each) and Ray (2 actors, 1 CPU each,
  a local cluster started by `ray.init`), with the tiny model (what the machinery costs) and with the shipped
  default model (what a user gets). Wall time includes start-up (loading the model in every process, starting Ray).

    .venv/bin/python benchmarks/scale.py [--sizes 1000 10000 100000] [--tiny-documents 2000] [--default-documents 48]
        [--parts throughput memory]

Writes benchmarks/results/scale.json.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
RESULTS = REPO_ROOT / "benchmarks" / "results" / "scale.json"
MODES = {"1 process": [], "2 workers": ["--workers", "2"], "ray (2 actors)": ["--engine", "ray", "--concurrency", "2"]}


def write_corpus(path: Path, count: int) -> int:
    """The BC5CDR test abstracts repeated to `count` documents (ids made unique) as PubTator; returns the words."""
    from benchmarks.one_pass import pubtator_path
    from modeling_vaner.formats import pubtator_block, read_documents
    from modeling_vaner.processing_vaner import split_words

    source = list(read_documents(pubtator_path(), "pubtator"))
    words = 0
    with open(path, "w", encoding="utf-8") as out:
        for index in range(count):
            document = source[index % len(source)]
            document.id = f"{document.id.split('-')[0]}-{index // len(source)}"
            out.write(pubtator_block(document))
            words += len(split_words(document.text))
    return words


def save_tiny_model(folder: Path) -> Path:
    """A random tiny VANER with SmolLM2's tokenizer (seeded), saved as a model folder."""
    import torch
    from transformers import AutoTokenizer

    from modeling_vaner import VanerForTokenClassification, save_vaner
    from modeling_vaner.backbone import convert_smollm2
    from tests.conftest import tiny_config

    tokenizer = AutoTokenizer.from_pretrained(convert_smollm2())
    torch.manual_seed(0)
    config = tiny_config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id or 0,
    )
    save_vaner(VanerForTokenClassification(config).eval(), tokenizer, folder)
    return folder


def run_predict(arguments: list[str]) -> dict:
    """`vaner predict` in a fresh process: wall seconds, the peak RSS of its process tree, and its summary."""
    import psutil

    command = [sys.executable, "-m", "modeling_vaner.commands.cli", "predict", *arguments]
    start, peak = time.perf_counter(), 0
    with tempfile.TemporaryFile("w+") as log:  # not a pipe: a long run's progress bar would fill it and block
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=log, text=True)
        tree = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                members = [tree, *tree.children(recursive=True)]
                peak = max(peak, sum(member.memory_info().rss for member in members))
            except psutil.Error:  # a member ended between listing and reading
                pass
            time.sleep(0.1)
        log.seek(0)
        err = log.read()
    if process.returncode != 0:
        raise SystemExit(f"vaner predict failed:\n{err[-3000:]}")
    output = Path(arguments[arguments.index("--output") + 1])
    summary = json.loads((output / "manifest.json").read_text())["summary"]
    return {"wall_seconds": round(time.perf_counter() - start, 1), "peak_rss_mib": round(peak / 2**20, 1), **summary}


def memory_by_size(model: Path, sizes: list[int], folder: Path) -> list[dict]:
    rows = []
    for size in sizes:
        corpus = folder / f"corpus-{size}.pubtator"
        words = write_corpus(corpus, size)
        print(f"peak RSS at {size:,} documents ({words:,} words) ...", file=sys.stderr, flush=True)
        result = run_predict(
            ["--model", str(model), "--input", str(corpus), "--output", f"{folder}/rss-{size}/", "--types", "Chemical"]
        )
        rows.append({"documents_in_corpus": size, **result})
        print(f"  {rows[-1]['peak_rss_mib']} MiB, {rows[-1]['wall_seconds']} s", file=sys.stderr, flush=True)
    return rows


def throughput(model: Path | None, documents: int, folder: Path, name: str) -> dict:
    corpus = folder / f"throughput-{name}.pubtator"
    write_corpus(corpus, documents)
    rows = {}
    for mode, options in MODES.items():
        print(f"{name}, {mode} ...", file=sys.stderr, flush=True)
        arguments = ["--input", str(corpus), "--output", f"{folder}/{name}-{len(rows)}/", "--types", "Chemical"]
        arguments += ["--shard-size", str(max(1, documents // 8)), *options]
        if model is not None:
            arguments += ["--model", str(model)]
        rows[mode] = run_predict(arguments)
        print(f"  {rows[mode]['words_per_second']} words/s", file=sys.stderr, flush=True)
    base = rows["1 process"]
    for row in rows.values():
        row["speed_vs_1_process"] = round(base["wall_seconds"] / row["wall_seconds"], 2)
    rows["ray_overhead_vs_2_workers"] = round(
        rows["ray (2 actors)"]["wall_seconds"] / rows["2 workers"]["wall_seconds"], 2
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--tiny-documents", type=int, default=2000)
    parser.add_argument("--default-documents", type=int, default=48)
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=("throughput", "memory"),
        default=["throughput", "memory"],
        help="measure these only, keeping the other part of an existing results file",
    )
    args = parser.parse_args()
    record = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    record["machine"] = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        model = save_tiny_model(folder / "tiny")
        part = {"command": "python benchmarks/scale.py " + " ".join(sys.argv[1:]), "date": time.strftime("%Y-%m-%d")}
        if "throughput" in args.parts:
            record["throughput"] = {
                **part,
                "tiny_model": throughput(model, args.tiny_documents, folder, "tiny"),
                "default_model": throughput(None, args.default_documents, folder, "default"),
            }
        if "memory" in args.parts:
            record["memory_by_corpus_size"] = {**part, "runs": memory_by_size(model, args.sizes, folder)}
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Which int8 recipe keeps the default model's answers? Strict F1 of the default model on the first sentences of each
core corpus's devel split (the dataset's own instruction, as the leaderboard asks), in PyTorch fp32, ONNX Runtime fp32
and each recipe of `onnx_runtime.INT8_RECIPES`, with the words/s each gave on this CPU.

    .venv/bin/vaner export-onnx                     # once: the float32 graph every recipe starts from
    .venv/bin/python benchmarks/cpu_int8.py [--sentences 500] [--recipes NAME,...] [--resume]

Writes benchmarks/results/cpu_int8.json after each runtime (--resume keeps those it holds). A recipe passes when no
corpus's strict F1 moves by more than `MAX_F1_MOVE` from PyTorch's. `chosen` is the recipe `vaner export-onnx --int8`
uses (`runtimes.INT8_RECIPE`), `auto_int8` whether `--runtime auto` may run it for the default model
(`runtimes.INT8_AGREES`); a test keeps both equal to this file.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
RESULTS = REPO_ROOT / "benchmarks" / "results" / "cpu_int8.json"
MAX_F1_MOVE = 0.3  # F1 points, on every core corpus's slice


def score(model, tokenizer, sentences: int) -> dict:
    """Strict F1 per core corpus's devel slice, and the words/s over all slices."""
    from harness.runner import VanerPredictor, evaluate_dataset
    from modeling_vaner.corpora import CORE_CORPORA

    predictor = VanerPredictor(model, tokenizer)
    rows = [evaluate_dataset(predictor, corpus, "devel", limit=sentences) for corpus in CORE_CORPORA]
    words, seconds = sum(row["words"] for row in rows), sum(row["seconds"] for row in rows)
    return {
        "strict_f1": {row["dataset"]: round(100 * row["strict"]["f1"], 2) for row in rows},
        "words": words,
        "seconds": round(seconds, 1),
        "words_per_second": round(words / seconds, 1),
    }


def judged(run: dict, reference: dict) -> dict:
    """`run` with its F1 moves from `reference` (PyTorch's) and whether it passes the rule."""
    moves = {name: round(f1 - reference["strict_f1"][name], 2) for name, f1 in run["strict_f1"].items()}
    largest = max(abs(move) for move in moves.values())
    speedup = round(run["words_per_second"] / reference["words_per_second"], 2)
    return {**run, "f1_move": moves, "max_abs_f1_move": largest, "passes": largest <= MAX_F1_MOVE, "speedup": speedup}


def runtimes(recipes: list[str], folder: Path):
    """`(name, graph file or None for PyTorch)` in the order they run: PyTorch, ONNX fp32, then each recipe, whose
    graph is written into `folder` as its turn comes."""
    from modeling_vaner.onnx_runtime import quantize_int8
    from modeling_vaner.runtimes import onnx_home, onnx_path

    fp32 = onnx_path(onnx_home(None))
    if not fp32.is_file():
        sys.exit(f"{fp32} is missing: run `vaner export-onnx` first")
    yield "torch", None
    yield "onnx", fp32
    for recipe in recipes:
        graph = folder / f"{recipe}.onnx"
        quantize_int8(fp32, graph, recipe)
        yield recipe, graph


def main() -> None:
    from modeling_vaner.onnx_runtime import INT8_RECIPES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=500, help="the first N devel sentences of each corpus")
    parser.add_argument("--recipes", default=",".join(INT8_RECIPES), help="names in onnx_runtime.INT8_RECIPES")
    parser.add_argument("--resume", action="store_true", help="keep the runtimes the results file holds")
    args = parser.parse_args()
    recipes = args.recipes.split(",")
    unknown = sorted(set(recipes) - set(INT8_RECIPES))
    if unknown:
        parser.error(f"--recipes: unknown {', '.join(unknown)}; known: {', '.join(INT8_RECIPES)}")
    import torch

    from modeling_vaner import load_vaner
    from modeling_vaner.files import write_json_atomically
    from modeling_vaner.onnx_runtime import OnnxVanerModel

    torch.set_num_threads(2)
    saved = json.loads(RESULTS.read_text()) if args.resume and RESULTS.is_file() else {}
    report = {
        "command": "python benchmarks/cpu_int8.py " + " ".join(sys.argv[1:]),
        "model": "modeling_vaner/default_model",
        "split": "devel",
        "slice_sentences": args.sentences,
        "threads": 2,
        "max_f1_move": MAX_F1_MOVE,
        "recipes": {name: INT8_RECIPES[name] for name in recipes},
        "runs": saved.get("runs", {}) if saved.get("slice_sentences") == args.sentences else {},
    }
    model, tokenizer = load_vaner(dtype=torch.float32, device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        for name, graph in runtimes([r for r in recipes if r not in report["runs"]], Path(folder)):
            if name in report["runs"]:
                continue
            runner = model if graph is None else OnnxVanerModel(graph, model.config, threads=2)
            report["runs"][name] = score(runner, tokenizer, args.sentences)
            if graph is not None:
                report["runs"][name]["graph_mb"] = round(graph.stat().st_size / 2**20, 1)
            print(name, report["runs"][name], flush=True)
            write_json_atomically(RESULTS, decided(report))


def decided(report: dict) -> dict:
    """`report` with each run judged against PyTorch's, and the recipe `vaner export-onnx --int8` should use: the
    fastest that passes; where none does, the one whose largest F1 move is smallest. `auto_int8`: whether it passed."""
    runs = report["runs"]
    if "torch" not in runs:
        return report
    runs.update({name: judged(run, runs["torch"]) for name, run in runs.items() if name != "torch"})
    measured = [name for name in report["recipes"] if name in runs]
    passing = [name for name in measured if runs[name]["passes"]]
    if passing:
        chosen, why = max(passing, key=lambda name: runs[name]["words_per_second"]), "the fastest that passes"
    else:
        chosen = min(measured, key=lambda name: runs[name]["max_abs_f1_move"], default=None)
        why = "none passes: the one whose largest F1 move is smallest"
    return {**report, "chosen": chosen, "chosen_because": why, "auto_int8": bool(passing)}


if __name__ == "__main__":
    main()

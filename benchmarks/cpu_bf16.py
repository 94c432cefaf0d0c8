"""Should `--dtype auto` run bf16 on a CPU? Strict F1 of the default model on NCBI-disease devel (the regression
slice of `tests/test_default_model.py`, and the whole split) in fp32 and in bf16, with the seconds each took and
whether this CPU has native bf16 (AVX512-BF16 or AMX; elsewhere torch emulates bf16 and the seconds mean little).

    .venv/bin/python benchmarks/cpu_bf16.py [--sentences 200,all]

Adds this machine's figures to benchmarks/results/cpu_bf16.json (one entry per CPU). `loading.CPU_BF16_AGREES` is
the decision they back (a test checks they agree): `auto` runs bf16 on a CPU only where bf16 is native and every
native-bf16 measurement moved F1 on the regression slice by at most `MAX_F1_MOVE`. Emulated bf16 rounds otherwise
than the native kernels, so its figures inform but do not decide.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
RESULTS = REPO_ROOT / "benchmarks" / "results" / "cpu_bf16.json"
MAX_F1_MOVE = 0.2  # F1 points
SLICE = 200  # sentences: the regression slice (modeling_vaner/default_model/regression.json)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", default=f"{SLICE},all", help="slice sizes of NCBI-disease devel, or all")
    args = parser.parse_args()

    import torch

    from harness.runner import VanerPredictor, evaluate_dataset
    from modeling_vaner import load_vaner
    from modeling_vaner.loading import cpu_has_native_bf16

    runs = []
    for dtype in ("float32", "bfloat16"):
        predictor = VanerPredictor(*load_vaner(dtype=getattr(torch, dtype), device="cpu"))
        for size in args.sentences.split(","):
            limit = None if size == "all" else int(size)
            start = time.perf_counter()
            result = evaluate_dataset(predictor, "NCBI-disease", "devel", limit=limit)
            runs.append(
                {
                    "dtype": dtype,
                    "sentences": result["sentences"],
                    "strict_f1": 100 * result["strict"]["f1"],
                    "seconds": round(time.perf_counter() - start, 1),
                }
            )
            print(runs[-1], flush=True)
    moves = {}
    for run in runs:
        if run["dtype"] == "bfloat16":
            fp32 = next(r for r in runs if r["dtype"] == "float32" and r["sentences"] == run["sentences"])
            moves[str(run["sentences"])] = round(run["strict_f1"] - fp32["strict_f1"], 2)
    record = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"machines": {}}
    native = cpu_has_native_bf16()
    machine = f"{cpu_name()} ({'native' if native else 'emulated'} bf16, {torch.get_num_threads()} threads)"
    record["machines"][machine] = {
        "native_bf16": native,
        "runs": runs,
        "f1_move_bf16_minus_fp32": moves,
        "command": "python benchmarks/cpu_bf16.py " + " ".join(sys.argv[1:]),
    }
    # bf16 for `auto` only where it is native and every native measurement of the slice moved F1 by <= the bar.
    native_moves = [
        abs(m["f1_move_bf16_minus_fp32"][str(SLICE)])
        for m in record["machines"].values()
        if m["native_bf16"] and str(SLICE) in m["f1_move_bf16_minus_fp32"]
    ]
    record.update(
        {
            "model": "modeling_vaner/default_model",
            "dataset": "NCBI-disease",
            "split": "devel",
            "slice_sentences": SLICE,
            "max_f1_move": MAX_F1_MOVE,
            "auto_bf16": bool(native_moves) and max(native_moves) <= MAX_F1_MOVE,
        }
    )
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(f"-> {RESULTS.relative_to(REPO_ROOT)}: bf16 moves F1 by {moves} on {machine}")


def cpu_name() -> str:
    try:
        return next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()

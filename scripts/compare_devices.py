"""Strict F1 of one model scored on two devices, corpus by corpus, and the largest difference:

    .venv/bin/python scripts/compare_devices.py results/leaderboard/vaner-default.json \
        results/gpu-ablations/gpu-lora.json [--tolerance 0.5] > results/leaderboard/cpu-vs-gpu.md

Exits 1 when a corpus differs by more than the tolerance (bf16 rounding differs between devices; more is a bug).
"""

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--tolerance", type=float, default=0.5)
    args = parser.parse_args()
    reports = [json.loads(Path(path).read_text()) for path in (args.first, args.second)]
    scores = [{r["dataset"]: 100 * r["strict"]["f1"] for r in report["results"]} for report in reports]
    devices = [(report.get("device") or {}).get("name", "?") for report in reports]
    # The tokens per input each file ran the model at (files from before it was recorded: 512, the old default).
    lengths = [
        f"max_length {report['max_length']}" if report.get("max_length") else "max_length not recorded"
        for report in reports
    ]
    print(
        f"| corpus | {args.first} ({devices[0]}, {lengths[0]}) | {args.second} ({devices[1]}, {lengths[1]}) "
        "| difference |"
    )
    print("|---|---|---|---|")
    worst = 0.0
    for dataset in scores[0]:
        if dataset in scores[1]:
            difference = scores[0][dataset] - scores[1][dataset]
            worst = max(worst, abs(difference))
            print(f"| {dataset} | {scores[0][dataset]:.2f} | {scores[1][dataset]:.2f} | {difference:+.2f} |")
    print(f"\nLargest difference {worst:.2f} F1 (tolerance {args.tolerance}).")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())

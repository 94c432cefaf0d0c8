"""Copy the `vaner eval` results files of the GPU runs (../shared/models/vaner-smollm2-gpu/results/) into
results/gpu-ablations/ with their display names and training budgets, and write their leaderboard:

    .venv/bin/python scripts/import_gpu_results.py [../shared/models/vaner-smollm2-gpu]

Each run trained 353 s on one H200 that the three runs shared (plus one evaluation for the first two minutes), on the
same rows with the same loop (the folder's README); the files do not carry that budget, so it is written here.
"""

import json
import subprocess
import sys
from pathlib import Path

RUNS = {  # file stem -> (display name, training seconds)
    "gpu-lora": ("VANER LoRA r=32, bidirectional (the default model), GPU 353 s", 353.0),
    "gpu-full": ("VANER full fine-tuning, bidirectional, GPU 353 s", 353.0),
    "gpu-causal": ("VANER LoRA r=32, causal mask kept (the paper's control), GPU 353 s", 353.0),
    "gpu-control": ("VANER LoRA r=16, CPU 0.14 epoch (previous default), scored on the GPU", None),
}


def main(source: str = "../shared/models/vaner-smollm2-gpu") -> None:
    out = Path("results/gpu-ablations")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, (name, seconds) in RUNS.items():
        report = json.loads((Path(source) / "results" / f"{stem}.json").read_text())
        report["model"] = name
        if seconds is not None:
            report["training"] = {"seconds": seconds, "summaries": [f"{source}/training_summary.json (budget)"]}
        else:  # the CPU run's summary was recorded under a path of the GPU machine
            report["training"]["summaries"] = ["modeling_vaner/default_model/training_summary.json (before this ship)"]
        report.setdefault("device", {"type": "cuda", "name": "NVIDIA H200 (shared)"})
        path = out / f"{stem}.json"
        path.write_text(json.dumps(report, indent=2) + "\n")
        paths.append(str(path))
    subprocess.run(
        [str(Path(sys.executable).parent / "vaner"), "leaderboard", *paths, "--output", str(out / "README.md")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print((out / "README.md").read_text())


if __name__ == "__main__":
    main(*sys.argv[1:2])

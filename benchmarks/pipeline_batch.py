"""The standard pipeline's default `batch_size`, chosen by measurement: seconds to tag the same texts for every
entity type with `pipeline("token-classification", model=..., trust_remote_code=True)` at several batch sizes.

    .venv/bin/python benchmarks/pipeline_batch.py [--model DIR] [--texts 8] [--sizes 1,4,8,16,32]

Writes benchmarks/results/pipeline_batch.json. The texts are the first BC5CDR test abstracts
(../shared/data/linking/bc5cdr).
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


def abstracts(count: int) -> list[str]:
    from modeling_vaner.corpora import data_root
    from modeling_vaner.formats import read_documents

    path = data_root().parent / "linking" / "bc5cdr" / "CDR_TestSet.PubTator.txt"
    documents = read_documents(path, "pubtator")
    return [next(documents).text for _ in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO_ROOT / "modeling_vaner" / "default_model"))
    parser.add_argument("--texts", type=int, default=8)
    parser.add_argument("--sizes", default="1,4,8,16,32")
    args = parser.parse_args()

    import torch
    from transformers import pipeline

    texts = abstracts(args.texts)
    ner = pipeline("token-classification", model=args.model, trust_remote_code=True)
    ner(texts[:1])  # warm-up: first-call costs are not the batch size's
    runs = []
    for size in [int(s) for s in args.sizes.split(",")]:
        start = time.perf_counter()
        entities = ner(texts, batch_size=size)
        seconds = time.perf_counter() - start
        runs.append({"batch_size": size, "seconds": round(seconds, 2), "entities": sum(map(len, entities))})
        print(f"batch_size {size}: {seconds:.1f} s, {runs[-1]['entities']} entities", flush=True)
    model = Path(args.model).resolve()
    record = {
        "model": str(model.relative_to(REPO_ROOT)) if model.is_relative_to(REPO_ROOT) else args.model,
        "texts": len(texts),
        "words": sum(len(t.split()) for t in texts),
        "entity_types": list(ner.model.config.entity_types),
        "runs": runs,
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "command": "python benchmarks/pipeline_batch.py " + " ".join(sys.argv[1:]),
    }
    out = REPO_ROOT / "benchmarks" / "results" / "pipeline_batch.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"-> {out.relative_to(REPO_ROOT)}; {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()

"""`vaner predict` on each CPU runtime, end to end: the default model (four types, one pass each) on BioRED's first
test abstracts, in PyTorch fp32, ONNX Runtime fp32 and ONNX Runtime int8 (dynamic, per channel, reduce_range).

    .venv/bin/vaner export-onnx --int8          # once: onnx/ beside the default model (gitignored)
    .venv/bin/python benchmarks/cpu_runtime.py [--documents 20]

Each runtime runs `vaner predict --input ... --runtime R` in a fresh process (model loading included); the mentions
are compared with PyTorch fp32's. Writes benchmarks/results/cpu_runtime.json.
"""

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modeling_vaner.corpora import data_root
from modeling_vaner.files import write_json_atomically
from modeling_vaner.formats import Document, pubtator_block, read_documents

RUNTIMES = ("torch", "onnx", "onnx-int8")
OUTPUT = ROOT / "benchmarks" / "results" / "cpu_runtime.json"


def abstracts(count: int, folder: Path) -> tuple[Path, int]:
    """BioRED's first `count` test abstracts, without their annotations, as a PubTator file; and their words."""
    source = data_root().parent / "pubtator" / "BioRED" / "Test.PubTator"
    documents = list(itertools.islice(read_documents(source, problems=[]), count))
    path = folder / "abstracts.pubtator"
    path.write_text("".join(pubtator_block(Document(d.id, d.text, d.title_length)) for d in documents))
    return path, sum(len(d.text.split()) for d in documents)


def mentions(path: Path) -> list[set]:
    return [{(e["start"], e["end"], e["type"]) for e in json.loads(line)["entities"]} for line in path.open()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    args = parser.parse_args()
    vaner = Path(sys.executable).with_name("vaner")
    report = {"command": f"python benchmarks/cpu_runtime.py --documents {args.documents}", "runtimes": {}}
    with tempfile.TemporaryDirectory() as folder:
        source, words = abstracts(args.documents, Path(folder))
        report.update(documents=args.documents, words=words)
        answers = {}
        for runtime in RUNTIMES:
            output = Path(folder) / f"{runtime}.jsonl"
            start = time.perf_counter()
            command = [str(vaner), "predict", "--input", str(source), "--runtime", runtime, "--output", str(output)]
            subprocess.run(command, check=True, capture_output=True)
            seconds = time.perf_counter() - start
            answers[runtime] = mentions(output)
            same = sum(len(a & b) for a, b in zip(answers["torch"], answers[runtime]))
            report["runtimes"][runtime] = {
                "seconds": round(seconds, 1),
                "words_per_second": round(words / seconds, 1),
                "mentions": sum(map(len, answers[runtime])),
                "mentions_also_in_torch": same,
                "documents_identical_to_torch": sum(a == b for a, b in zip(answers["torch"], answers[runtime])),
            }
            print(runtime, report["runtimes"][runtime], flush=True)
    write_json_atomically(OUTPUT, report)


if __name__ == "__main__":
    main()

"""`vaner predict` on each CPU runtime, end to end: the first BC5CDR test abstracts (title and abstract) tagged for
the four entity types in PyTorch fp32, ONNX Runtime fp32 and ONNX Runtime int8 (`runtimes.INT8_RECIPE`), by the
default model (one pass per type) and by a one-pass model of the same size (a head per type; fresh heads, since the
cost of a pass does not depend on what the heads learned: its mentions are not worth reading, its seconds are).

    .venv/bin/python benchmarks/cpu_runtime.py [--documents 40]

Each model is exported first (`vaner export-onnx --int8`; the default model's export is written again so that its
int8 graph is the current recipe's). Each run is `vaner predict --input ... --runtime R` in a fresh process, model
loading included; the default model's mentions on each runtime are compared with PyTorch's. F1 per core devel slice
for each runtime is benchmarks/cpu_int8.py's. Writes benchmarks/results/cpu_runtime.json.
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

from benchmarks.one_pass import PUBTATOR, TYPES  # the abstracts and types one_pass.py times
from modeling_vaner.corpora import data_root
from modeling_vaner.files import write_json_atomically
from modeling_vaner.formats import Document, pubtator_block, read_documents
from modeling_vaner.processing_vaner import ONNX_FILES
from modeling_vaner.runtimes import RUNTIMES

OUTPUT = ROOT / "benchmarks" / "results" / "cpu_runtime.json"


def abstracts(count: int, folder: Path) -> tuple[Path, int]:
    """The first `count` BC5CDR test abstracts, without their annotations, as a PubTator file; and their words."""
    source = data_root().parent.joinpath(*PUBTATOR)
    documents = list(itertools.islice(read_documents(source, problems=[]), count))
    path = folder / "abstracts.pubtator"
    path.write_text("".join(pubtator_block(Document(d.id, d.text, d.title_length)) for d in documents))
    return path, sum(len(d.text.split()) for d in documents)


def mentions(path: Path) -> list[set]:
    return [{(e["start"], e["end"], e["type"]) for e in json.loads(line)["entities"]} for line in path.open()]


def vaner(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "modeling_vaner.commands.cli", *args], check=True, capture_output=True)


def one_pass_model(folder: Path) -> Path:
    """A one-pass VANER on SmolLM2-135M (a head per type, fresh), saved in `folder`."""
    import torch

    from modeling_vaner import save_vaner
    from modeling_vaner.loading import load_backbone

    torch.manual_seed(0)
    model, tokenizer = load_backbone("smollm2", head_layout="per_type", entity_types=TYPES)
    save_vaner(model, tokenizer, folder)
    return folder


def run(model: str | None, source: Path, words: int, runtime: str, output: Path) -> dict:
    model_args = ["--model", model] if model else []
    start = time.perf_counter()
    vaner(
        "predict",
        "--input",
        str(source),
        "--types",
        ",".join(TYPES),
        "--runtime",
        runtime,
        "--output",
        str(output),
        *model_args,
    )
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 1), "words_per_second": round(words / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40)
    args = parser.parse_args()
    from modeling_vaner.runtimes import onnx_home, read_export_record

    report = {"command": f"python benchmarks/cpu_runtime.py --documents {args.documents}", "types": ",".join(TYPES)}
    with tempfile.TemporaryDirectory() as folder:
        source, words = abstracts(args.documents, Path(folder))
        report.update(documents=args.documents, words=words, models={})
        models = {"default": None, "one-pass (fresh heads)": str(one_pass_model(Path(folder) / "one-pass"))}
        for name, model in models.items():
            vaner("export-onnx", "--int8", *(["--model", model] if model else []))
            record = read_export_record(onnx_home(model))
            runs = {"int8_recipe": record[ONNX_FILES["onnx-int8"]].get("recipe")}
            for runtime in RUNTIMES:
                output = Path(folder) / f"{name}.{runtime}.jsonl"
                runs[runtime] = run(model, source, words, runtime, output)
                if model is None:  # the default model's answers, against PyTorch's
                    runs[runtime].update(agreement(mentions(Path(folder) / f"{name}.torch.jsonl"), mentions(output)))
                print(name, runtime, runs[runtime], flush=True)
            report["models"][name] = runs
    write_json_atomically(OUTPUT, report)


def agreement(torch_mentions: list[set], mentions_here: list[set]) -> dict:
    return {
        "mentions": sum(map(len, mentions_here)),
        "mentions_also_in_torch": sum(len(a & b) for a, b in zip(torch_mentions, mentions_here)),
        "documents_identical_to_torch": sum(a == b for a, b in zip(torch_mentions, mentions_here)),
    }


if __name__ == "__main__":
    main()

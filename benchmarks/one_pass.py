"""One pass for every type against one pass per type: the same BC5CDR test abstracts tagged for the four entity
types by a VANER model with a head per type and by one with a shared head, both on SmolLM2-135M with the same
shape (fresh heads: the cost of a forward pass does not depend on what the head learned), side by side in one run.
Also the Space's latency for a 250-word abstract both ways, and `vaner predict` on 40 abstracts as shipped (the
default model, `--dtype auto`) against a one-pass model in bf16 where this CPU has native bf16 (else fp32).

    .venv/bin/python benchmarks/one_pass.py [--documents 100] [--predict-documents 40] [--batch-size 16]

Writes benchmarks/results/one_pass.json.
"""

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
RESULTS = REPO_ROOT / "benchmarks" / "results" / "one_pass.json"
TYPES = ["Chemical", "Disease", "Gene", "Species"]
PUBTATOR = ("linking", "bc5cdr", "CDR_TestSet.PubTator.txt")


def pubtator_path() -> Path:
    from modeling_vaner.corpora import data_root

    return data_root().parent.joinpath(*PUBTATOR)


def documents(count: int):
    from modeling_vaner.formats import read_documents

    found = read_documents(pubtator_path(), "pubtator")
    return [next(found) for _ in range(count)]


def abstract_of(words: int, texts: list[str]) -> str:
    """The first `words` words of the texts joined, ended at a sentence end."""
    from modeling_vaner.processing_vaner import split_sentences, split_words

    text = " ".join(texts)
    spans = split_words(text)
    last = next(end for _, end in split_sentences(text, spans) if end >= words)
    return text[: spans[last - 1][1]]


def tokens_run(tagger, texts: list[str]) -> int:
    """Tokens the model reads to tag `texts` for the four types (instructions included)."""
    from modeling_vaner.processing_vaner import RequestedText

    instructions = tagger.instructions(TYPES, None)
    return sum(
        len(row.input_ids)
        for text in texts
        for row in tagger.encoder.encode(RequestedText.build(text, instructions).requests)
    )


def timed(function, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def predict_seconds(model: str | None, source: Path, dtype: str) -> float:
    command = [
        sys.executable,
        "-m",
        "modeling_vaner.commands.cli",
        "predict",
        "--input",
        str(source),
        "--format",
        "pubtator",
        "--output",
        str(source.with_suffix(f".{dtype}.out")),
        "--dtype",
        dtype,
    ]
    start = time.perf_counter()
    subprocess.run(
        command + (["--model", model] if model else []),
        check=True,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--predict-documents", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    import torch

    from modeling_vaner import VanerTagger, save_vaner
    from modeling_vaner.loading import cpu_has_native_bf16, load_backbone
    from modeling_vaner.processing_vaner import split_words

    torch.manual_seed(0)
    docs = documents(max(args.documents, args.predict_documents))
    texts = [document.text for document in docs[: args.documents]]
    words = sum(len(split_words(text)) for text in texts)
    shared, tokenizer = load_backbone("smollm2")
    per_type, _ = load_backbone("smollm2", head_layout="per_type", entity_types=TYPES)
    record = {"documents": len(texts), "words": words, "entity_types": TYPES, "batch_size": args.batch_size}
    space_text = abstract_of(250, [document.text for document in docs])
    for name, model in (("per_type", shared), ("one_pass", per_type)):
        tagger = VanerTagger(model.eval(), tokenizer, max_length=256)
        tagger(texts[:2], TYPES)  # warm-up
        seconds = timed(lambda tagger=tagger: tagger(texts, TYPES, batch_size=args.batch_size))
        record[f"seconds_{name}"] = round(seconds, 1)
        record[f"words_per_s_{name}"] = round(words / seconds, 1)
        record[f"tokens_{name}"] = tokens_run(tagger, texts)
        record[f"space_latency_250_words_s_{name}"] = round(timed(lambda t=tagger: t([space_text], TYPES), 3), 2)
        print(name, seconds, flush=True)
    record["ratio"] = round(record["words_per_s_one_pass"] / record["words_per_s_per_type"], 2)
    record["token_ratio"] = round(record["tokens_per_type"] / record["tokens_one_pass"], 2)
    record["space_text_words"] = len(split_words(space_text))

    # `vaner predict` as shipped against a one-pass model with both levers (bf16 only where the CPU has it).
    lever_dtype = "bfloat16" if cpu_has_native_bf16() else "float32"
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "abstracts.pubtator"
        blocks = pubtator_path().read_text(encoding="utf-8").strip().split("\n\n")
        source.write_text("\n\n".join(blocks[: args.predict_documents]) + "\n")
        one_pass_dir = Path(folder) / "one-pass"
        save_vaner(per_type, tokenizer, one_pass_dir)
        today = predict_seconds(None, source, "auto")
        both = predict_seconds(str(one_pass_dir), source, lever_dtype)
    record["predict"] = {
        "documents": args.predict_documents,
        "seconds_today": round(today, 1),
        "seconds_one_pass": round(both, 1),
        "one_pass_dtype": lever_dtype,
        "speedup": round(today / both, 2),
    }
    record.update(
        {
            "cpu": platform.processor() or platform.machine(),
            "native_bf16": cpu_has_native_bf16(),
            "threads": torch.get_num_threads(),
            "command": "python benchmarks/one_pass.py " + " ".join(sys.argv[1:]),
        }
    )
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()

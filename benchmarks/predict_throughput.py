"""Throughput of `vaner predict` on a file of real sentences, SmolLM2 backbone, all four entity types.

    .venv/bin/python benchmarks/predict_throughput.py [--sentences 1000] [--dtype bfloat16] [--batch-size 16]

The sentences are those of the NCBI-disease test set, then BC2GM's, up to N (../shared/data), one per line, words
joined by spaces.
The head is untrained (speed does not depend on its weights). Prints words/s over the whole command, model loading
included, and over tagging alone.
"""

import argparse
import tempfile
import time
from pathlib import Path

from modeling_vaner import VanerForTokenClassification, save_vaner
from modeling_vaner.backbone import convert_smollm2, read_provenance
from modeling_vaner.commands.cli import main as vaner
from modeling_vaner.corpora import read_conll

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bioner"


def sentences(path: Path, limit: int) -> list[str]:
    return [" ".join(words) for words, _ in read_conll(path)[: max(limit, 0)]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--dtype", default="bfloat16", choices=("float32", "bfloat16"))
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    backbone = convert_smollm2()
    work = Path(tempfile.mkdtemp(prefix="vaner-bench-"))
    model = VanerForTokenClassification.from_backbone(backbone, backbone_provenance=read_provenance(backbone))
    save_vaner(model, AutoTokenizer.from_pretrained(backbone), work / "model")
    texts = sentences(DATA / "NCBI-disease" / "test.tsv", args.sentences)
    texts += sentences(DATA / "BC2GM" / "test.tsv", args.sentences - len(texts))
    (work / "input.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    words = sum(len(t.split()) for t in texts)

    start = time.perf_counter()
    status = vaner(
        [
            "predict",
            "--input",
            str(work / "input.txt"),
            "--model",
            str(work / "model"),
            "--output",
            str(work / "out.json"),
            "--dtype",
            args.dtype,
            "--batch-size",
            str(args.batch_size),
        ]
    )
    seconds = time.perf_counter() - start
    assert status == 0
    print(
        f"{len(texts)} sentences, {words} words, 4 entity types, {args.dtype}, batch {args.batch_size}: "
        f"{seconds:.1f} s, {words / seconds:.0f} words/s ({4 * words / seconds:.0f} word-type pairs/s)"
    )


if __name__ == "__main__":
    main()

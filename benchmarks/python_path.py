"""Speed of VANER's Python path alone: tagging with a trivial model, so only our code is timed.

    .venv/bin/python benchmarks/python_path.py [--sentences 6000] [--repeats 3] [--output FILE]

The model is an embedding of 3 logits per token id (seeded), behind the real `VanerTagger`: splitting, the
SmolLM2 tokenizer, instructions, windows, batching, padding, reading labels back, BIO repair and spans all run as
they do for the real model, and the forward pass costs next to nothing. On one core (`torch.set_num_threads(1)`,
`TOKENIZERS_PARALLELISM=false`), best of `--repeats`, each with a fresh tagger (nothing cached from the last):
- `harness`: `tag_words` on pre-split corpus sentences (what `vaner eval` runs), NCBI-disease then BC2GM test;
- `text`: the tagger on raw text (what `vaner predict` and the pipeline run): the same sentences joined into texts
  of 10 sentences, one entity type each.
Words/s counts corpus words. The digest of all outputs (tags, scores rounded to 6 places, spans) shows a change
to the Python path kept the outputs the same.
"""

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"

import torch

from modeling_vaner import VanerConfig, VanerTagger
from modeling_vaner.backbone import convert_smollm2
from modeling_vaner.corpora import load_corpus
from modeling_vaner.loading import DEFAULT_MODEL_DIR

CORPORA = (("NCBI-disease", "Disease"), ("BC2GM", "Gene"))


class TrivialTokenClassifier(torch.nn.Module):
    """Logits straight from the token ids: the model costs nothing, so the timing is the Python around it."""

    def __init__(self, config: VanerConfig):
        super().__init__()
        torch.manual_seed(0)
        self.config = config
        self.logits = torch.nn.Embedding(config.vocab_size, config.num_labels)

    def forward(self, input_ids, attention_mask=None):
        return type("Output", (), {"logits": self.logits(input_ids)})


def corpus_sentences(limit: int) -> list[tuple[list[str], str, str]]:
    """`(words, dataset, entity type)` of the first test sentences of each corpus, `limit` in all."""
    out = []
    for dataset, entity_type in CORPORA:
        for words in load_corpus(dataset, "test")["tokens"][: limit // len(CORPORA)]:
            out.append((words, dataset, entity_type))
    return out


def best_of(repeats: int, run) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from transformers import AutoTokenizer

    config = VanerConfig.from_pretrained(DEFAULT_MODEL_DIR)
    tokenizer = AutoTokenizer.from_pretrained(convert_smollm2())
    model = TrivialTokenClassifier(config).eval()
    sentences = corpus_sentences(args.sentences)
    words = sum(len(sentence) for sentence, _, _ in sentences)
    requests = [(sentence, config.instruction(entity_type, dataset)) for sentence, dataset, entity_type in sentences]
    texts = [
        (" ".join(" ".join(s) for s, _, _ in sentences[i : i + 10]), sentences[i][2])
        for i in range(0, len(sentences), 10)
    ]

    def tag_words():
        return VanerTagger(model, tokenizer, max_length=256).tag_words(requests, args.batch_size)

    def tag_texts():
        tagger = VanerTagger(model, tokenizer, max_length=256)
        out = []
        for entity_type in dict.fromkeys(entity_type for _, entity_type in texts):
            batch = [text for text, kind in texts if kind == entity_type]
            out.extend(tagger(batch, entity_types=[entity_type], batch_size=args.batch_size))
        return out

    harness_seconds, tagged = best_of(args.repeats, tag_words)
    text_seconds, entities = best_of(args.repeats, tag_texts)
    digest = hashlib.sha256(
        json.dumps(
            [[tags, [round(s, 6) for s in scores]] for tags, scores in tagged]
            + [[[e["start"], e["end"], e["type"], round(e["score"], 6)] for e in text] for text in entities]
        ).encode()
    ).hexdigest()
    record = {
        "benchmark": "python_path",
        "command": "python " + " ".join(sys.argv),
        "sentences": len(sentences),
        "words": words,
        "batch_size": args.batch_size,
        "threads": 1,
        "harness_words_per_second": round(words / harness_seconds),
        "text_words_per_second": round(words / text_seconds),
        "outputs_sha256": digest,
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
    }
    print(json.dumps(record, indent=2))
    if args.output:
        args.output.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

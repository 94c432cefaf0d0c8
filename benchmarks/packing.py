"""What packing consecutive sentences behind one instruction costs in accuracy, and buys in speed.

    .venv/bin/python benchmarks/packing.py [--model DIR] [--sentences 2000] [--budgets 0,128,256,512]

The instruction is about 20 tokens in front of sentences of about 40: packing several consecutive sentences of the
test file (the corpora keep document order) into one model input of at most BUDGET tokens (`VanerTagger`'s
`pack_tokens`) cuts the tokens to run. Budget 0 runs one sentence per input. A model trained one sentence per input
(the default) measures what packing costs without retraining; one trained packed (`--pack-tokens`, see
scripts/packing.sh) what it costs with. Prints strict F1 per corpus on the fixed slice, the tokens run, and words/s.
"""

import argparse
import time

import evaluate
import torch
from throughput import fixed_slice, load_default

from harness.runner import METRIC_PATH, with_type
from modeling_vaner.corpora import get_corpus
from modeling_vaner.processing_vaner import Request, RequestEncoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a saved VANER folder (default: the embedded default model)")
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--budgets", default="0,128,256,512")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    items = fixed_slice(args.sentences)
    words = sum(len(words) for _, words, _ in items)
    metric = evaluate.load(str(METRIC_PATH))
    corpora = sorted({name for name, _, _ in items})
    print(f"model: {args.model or 'default'}")
    print("| budget | tokens run | words/s | " + " | ".join(f"{name} F1" for name in corpora) + " |")
    print("|---|---|---|" + "---|" * len(corpora))
    tagger, _ = load_default(torch.bfloat16, args.model)
    requests = [(words, tagger.config.instruction(get_corpus(name).entity_type, name)) for name, words, _ in items]
    for budget in map(int, args.budgets.split(",")):
        # At 512 tokens per input (the length these figures were first made at), so every budget fits one input.
        tagger.encoder = RequestEncoder(
            tagger.tokenizer, max_length=512, pack_tokens=budget, pad_token_id=tagger.pad_token_id
        )
        tokens = sum(len(row.input_ids) for row in tagger.encoder.encode([Request(*r) for r in requests]))
        start = time.perf_counter()
        tags = [tags for tags, _ in tagger.tag_words(requests, args.batch_size)]
        seconds = time.perf_counter() - start
        scores = []
        for name in corpora:
            kind = get_corpus(name).entity_type
            chosen = [i for i, item in enumerate(items) if item[0] == name]
            result = metric.compute(
                predictions=[with_type(tags[i], kind) for i in chosen],
                references=[with_type(items[i][2], kind) for i in chosen],
            )
            scores.append(f"{100 * result['f1']:.2f}")
        label = budget or "unpacked"
        print(f"| {label} | {tokens} | {words / seconds:.0f} | " + " | ".join(scores) + " |", flush=True)


if __name__ == "__main__":
    main()

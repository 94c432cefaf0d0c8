"""Does packing consecutive sentences behind one instruction keep accuracy? (inference only, the default model)

    .venv/bin/python benchmarks/packing.py [--sentences 2000] [--budgets 0,128,256,512]

The instruction is about 20 tokens in front of sentences of about 40: packing several consecutive sentences of the
test file (the corpora keep document order) into one model input of at most BUDGET tokens cuts the tokens to run.
The default model was trained on one sentence per input, so this measures what packing costs in accuracy without
retraining. Budget 0 is the unpacked runner. Prints strict F1 per corpus, the tokens run, and words/s.
"""

import argparse
import time

import evaluate
import torch

from harness.runner import METRIC_PATH, typed
from modeling_vaner.corpora import get_corpus
from modeling_vaner.pipeline_vaner import window_inputs, word_pieces

from throughput import fixed_slice, load_default


def packed_rows(tagger, requests, budget: int):
    """Rows `(input_ids, [(request index, first word, positions), ...])`: consecutive requests with the same
    instruction share one input while they fit in `budget` tokens; a longer one goes through the usual windows."""
    rows, current, current_instruction = [], None, None
    for index, (words, instruction) in enumerate(requests):
        prompt = tagger._instruction_ids(instruction)
        pieces = [piece or [tagger.pad_token_id] for piece in word_pieces(tagger.tokenizer, words)]
        length = sum(map(len, pieces))
        if len(prompt) + length > budget:
            for input_ids, first, positions in window_inputs(prompt, pieces, tagger.max_length - len(prompt),
                                                             tagger.context, tagger.pad_token_id):
                rows.append((input_ids, [(index, first, positions)]))
            continue
        if current is None or instruction != current_instruction or len(current[0]) + length > budget:
            current, current_instruction = (list(prompt), []), instruction
            rows.append(current)
        positions = []
        for piece in pieces:
            positions.append(len(current[0]))
            current[0].extend(piece)
        current[1].append((index, 0, positions))
    return rows


def tag(tagger, requests, budget: int, batch_size: int):
    probabilities = [[None] * len(words) for words, _ in requests]
    if budget:
        rows = packed_rows(tagger, requests, budget)
    else:
        rows = [(ids, [(index, first, positions)]) for ids, index, first, positions in tagger.encode_requests(requests)]
    rows.sort(key=lambda row: len(row[0]))
    start = time.perf_counter()
    for batch_start in range(0, len(rows), batch_size):
        batch = rows[batch_start : batch_start + batch_size]
        flat = [[p for _, _, positions in segments for p in positions] for _, segments in batch]
        for (_, segments), row_probabilities in zip(batch, tagger._forward([row[0] for row in batch], flat)):
            for index, first, positions in segments:
                probabilities[index][first : first + len(positions)] = row_probabilities[: len(positions)]
                row_probabilities = row_probabilities[len(positions) :]
    seconds = time.perf_counter() - start
    return [tags for tags, _ in tagger.decode(probabilities)], sum(len(row[0]) for row in rows), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=2000)
    parser.add_argument("--budgets", default="0,128,256,512")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    tagger, _ = load_default(torch.bfloat16)
    items = fixed_slice(args.sentences)
    requests = [(words, tagger.config.instruction(get_corpus(name).entity_type, name)) for name, words, _ in items]
    words = sum(len(words) for _, words, _ in items)
    metric = evaluate.load(str(METRIC_PATH))
    corpora = sorted({name for name, _, _ in items})
    print("| budget | tokens run | words/s | " + " | ".join(f"{name} F1" for name in corpora) + " |")
    print("|---|---|---|" + "---|" * len(corpora))
    for budget in map(int, args.budgets.split(",")):
        tags, tokens, seconds = tag(tagger, requests, budget, args.batch_size)
        scores = []
        for name in corpora:
            kind = get_corpus(name).entity_type
            chosen = [i for i, item in enumerate(items) if item[0] == name]
            result = metric.compute(predictions=[typed(tags[i], kind) for i in chosen],
                                    references=[typed(items[i][2], kind) for i in chosen])
            scores.append(f"{100 * result['f1']:.2f}")
        label = budget or "unpacked"
        print(f"| {label} | {tokens} | {words / seconds:.0f} | " + " | ".join(scores) + " |", flush=True)


if __name__ == "__main__":
    main()

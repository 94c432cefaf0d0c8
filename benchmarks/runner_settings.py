"""Which runner settings pay on this CPU: batch size, attention kernel, threads, torch.compile (default model, bf16).

    .venv/bin/python benchmarks/runner_settings.py [--sentences 500] [--threads] [--compile]

Times `VanerTagger` on the benchmark slice (benchmarks/throughput.py) under each setting, one warm-up pass first,
and checks that the word-level predictions equal those of the default settings (batch 16, SDPA).
"""

import argparse
import time

import torch
from throughput import load_default, requests_for


def timed(tagger, requests, batch_size: int):
    start = time.perf_counter()
    tags = [tags for tags, _ in tagger.tag_words(requests, batch_size)]
    return time.perf_counter() - start, tags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument(
        "--threads", action="store_true", help="also time each intra-op thread count from 1 to the default"
    )
    parser.add_argument("--compile", action="store_true", help="also try torch.compile(dynamic=True)")
    args = parser.parse_args()

    tagger, _ = load_default(torch.bfloat16)
    requests, _, words = requests_for(tagger, args.sentences)
    tagger.tag_words(requests[:64], 16)  # warm-up
    _, reference = timed(tagger, requests, 16)
    print(f"{len(requests)} sentences, {words} words, {torch.get_num_threads()} threads")
    print("| setting | words/s | predictions |")
    print("|---|---|---|")
    settings = [(f"sdpa, batch {b}", "sdpa", b) for b in (4, 8, 16, 32, 64)] + [("eager, batch 16", "eager", 16)]
    for label, attention, batch_size in settings:
        tagger.model.set_attn_implementation(attention)
        seconds, tags = timed(tagger, requests, batch_size)
        print(f"| {label} | {words / seconds:.0f} | {'identical' if tags == reference else 'differ'} |", flush=True)
    tagger.model.set_attn_implementation("sdpa")
    if args.threads:
        default_threads = torch.get_num_threads()
        for threads in range(1, default_threads + 1):
            torch.set_num_threads(threads)
            seconds, tags = timed(tagger, requests, 16)
            print(
                f"| sdpa, batch 16, {threads} thread(s) | {words / seconds:.0f} "
                f"| {'identical' if tags == reference else 'differ'} |",
                flush=True,
            )
        torch.set_num_threads(default_threads)
    if args.compile:
        model = tagger.model
        tagger.model = torch.compile(model, dynamic=True)
        start = time.perf_counter()
        tagger.tag_words(requests[:64], 16)
        warm = time.perf_counter() - start
        seconds, tags = timed(tagger, requests, 16)
        print(
            f"| torch.compile (dynamic), batch 16; compile + first 64 sentences {warm:.0f} s | {words / seconds:.0f} "
            f"| {'identical' if tags == reference else 'differ'} |"
        )


if __name__ == "__main__":
    main()

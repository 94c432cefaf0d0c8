"""Forward throughput of VANER on the real SmolLM2-135M backbone, fp32 and bf16 (inference mode, sdpa).

    .venv/bin/python benchmarks/forward_throughput.py [--batch 8] [--length 128] [--repeats 5]

Prints tokens/s for each dtype; the first call of each is a warm-up and is not counted.
"""

import argparse
import time

import torch

from modeling_vaner import VanerForTokenClassification
from modeling_vaner.backbone import convert_smollm2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    backbone = convert_smollm2()
    torch.manual_seed(0)
    input_ids = torch.randint(100, 40000, (args.batch, args.length))
    tokens = args.batch * args.length
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch} x {args.length} tokens")
    for dtype in (torch.float32, torch.bfloat16):
        model = VanerForTokenClassification.from_backbone(backbone, dtype=dtype).eval()
        with torch.inference_mode():
            model(input_ids)
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                model(input_ids)
                times.append(time.perf_counter() - start)
        best, median = min(times), sorted(times)[len(times) // 2]
        print(f"{dtype!s:>15}: {tokens / median:8.0f} tokens/s (median of {args.repeats}), best {tokens / best:.0f}")


if __name__ == "__main__":
    main()

"""How long `Linker.load()` takes in a fresh process (import included): the shipped index's promise, measured here
rather than asserted in a test. Writes benchmarks/results/linking_load.json.

    python benchmarks/linking_load.py [--repeats 3]
"""

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = (
    f"import sys, time; sys.path.insert(0, {str(ROOT)!r}); start = time.perf_counter();"
    "from modeling_vaner.linking import Linker; Linker.load(); print(time.perf_counter() - start)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    seconds = [
        float(subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True).stdout)
        for _ in range(args.repeats)
    ]
    record = {
        "seconds": [round(s, 3) for s in seconds],
        "best": round(min(seconds), 3),
        "machine": platform.processor(),
    }
    out = ROOT / "benchmarks" / "results" / "linking_load.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()

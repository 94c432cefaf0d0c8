"""Push a VANER model to a local Hub and time `from_pretrained(repo_id)` to first prediction in a fresh process.

    .venv/bin/python benchmarks/hub_load_time.py [MODEL_DIR]   # default: the embedded default model

The Hub is the tests' local one (olah behind tests/hub_front.py). Prints the repo's files and sizes (model and
backbone repos) and the seconds from a cold start (empty HF_HOME: download included) and a warm one (cache filled).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.local_hub import hub_env, running_hub  # noqa: E402

FIRST_PREDICTION = """
import json, sys, time
start = time.perf_counter()
sys.path = [p for p in sys.path if p not in ('', {root!r})]
from transformers import pipeline
ner = pipeline("vaner-ner", model={repo!r}, trust_remote_code=True, revision="main")
entities = ner("Cisplatin caused acute renal failure in BRCA1 carriers.")
print(json.dumps({{"seconds": time.perf_counter() - start, "entities": entities}}))
"""


def run(args, env, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **env}, cwd=REPO_ROOT, **kwargs)
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return result.stdout


def main() -> None:
    model_dir = sys.argv[1] if len(sys.argv) > 1 else str(REPO_ROOT / "modeling_vaner" / "default_model")
    with tempfile.TemporaryDirectory() as scratch, running_hub(Path(scratch) / "hub") as endpoint:
        pusher = hub_env(endpoint, Path(scratch) / "pusher")
        print(run([sys.executable, "-m", "modeling_vaner.cli", "push", "--model", model_dir, "--repo",
                   "vaner/vaner-smollm2", "--backbone-repo", "vaner/smollm2-135m-instruct-q4_1"], pusher).strip())
        listing = run([sys.executable, "-c", (
            "from huggingface_hub import HfApi\napi = HfApi()\n"
            "for repo in ('vaner/vaner-smollm2', 'vaner/smollm2-135m-instruct-q4_1'):\n"
            "    info = api.model_info(repo, revision='main', files_metadata=True)\n"
            "    total = sum(s.size or 0 for s in info.siblings)\n"
            "    print(f'{repo}: {len(info.siblings)} files, {total / 2**20:.1f} MiB')\n"
            "    for s in info.siblings: print(f'  {s.rfilename:45} {(s.size or 0) / 2**10:10.1f} KiB')\n")], pusher)
        print(listing)
        home = Path(scratch) / "user"
        code = FIRST_PREDICTION.format(root=str(REPO_ROOT), repo="vaner/vaner-smollm2")
        for label in ("cold (empty cache, downloads included)", "warm (cache filled)"):
            out = json.loads(run([sys.executable, "-c", code], hub_env(endpoint, home)).strip().splitlines()[-1])
            print(f"{label}: {out['seconds']:.1f} s to the first prediction; "
                  f"{[(e['text'], e['type']) for e in out['entities']]}")


if __name__ == "__main__":
    main()

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

from tests.local_hub import hub_env, running_hub

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
    result = subprocess.run(
        args, capture_output=True, check=False, text=True, env={**os.environ, **env}, cwd=REPO_ROOT, **kwargs
    )
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return result.stdout


def repo_listing(git_dir: Path) -> str:
    """Files and sizes of a pushed repo, read from the local Hub's git repository (LFS files by their pointer)."""
    rows, total = [], 0
    tree = subprocess.run(
        ["git", "ls-tree", "-r", "-l", "main"], cwd=git_dir, capture_output=True, check=False, text=True
    ).stdout
    for line in tree.splitlines():
        meta, path = line.split("\t", 1)
        blob, size = meta.split()[2], int(meta.split()[3])
        if size < 400:
            content = subprocess.run(
                ["git", "cat-file", "-p", blob], cwd=git_dir, capture_output=True, check=False, text=True
            ).stdout
            if content.startswith("version https://git-lfs"):
                size = int(content.split("size ")[1].split()[0])
        total += size
        rows.append(f"  {path:45} {size / 2**10:12.1f} KiB")
    return f"{git_dir.parent.name}/{git_dir.name}: {len(rows)} files, {total / 2**20:.1f} MiB\n" + "\n".join(rows)


def main() -> None:
    model_dir = sys.argv[1] if len(sys.argv) > 1 else str(REPO_ROOT / "modeling_vaner" / "default_model")
    with tempfile.TemporaryDirectory() as scratch, running_hub(Path(scratch) / "hub") as endpoint:
        pusher = hub_env(endpoint, Path(scratch) / "pusher")
        print(
            run(
                [
                    sys.executable,
                    "-m",
                    "modeling_vaner.commands.cli",
                    "push",
                    "--model",
                    model_dir,
                    "--repo",
                    "vaner/vaner-smollm2",
                    "--backbone-repo",
                    "vaner/smollm2-135m-instruct-q4_1",
                ],
                pusher,
            ).strip()
        )
        for repo in ("vaner/vaner-smollm2", "vaner/smollm2-135m-instruct-q4_1"):
            print(repo_listing(Path(scratch) / "hub" / "mirrors" / "models" / repo))
        home = Path(scratch) / "user"
        code = FIRST_PREDICTION.format(root=str(REPO_ROOT), repo="vaner/vaner-smollm2")
        for label in ("cold (empty cache, downloads included)", "warm (cache filled)"):
            out = json.loads(run([sys.executable, "-c", code], hub_env(endpoint, home)).strip().splitlines()[-1])
            print(
                f"{label}: {out['seconds']:.1f} s to the first prediction; "
                f"{[(e['text'], e['type']) for e in out['entities']]}"
            )


if __name__ == "__main__":
    main()

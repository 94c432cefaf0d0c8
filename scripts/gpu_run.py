"""Train a recipe for a time budget on a lent GPU, score every test set and CRAFT, and pack what comes back.

    python scripts/gpu_run.py --config configs/gpu_one_pass.yaml --out /root/out/one-pass --budget-minutes 6
    python scripts/gpu_run.py --join /root/out/one-pass/transfer runs/one-pass-gpu       # back here: unpack, check

The GPU machine gives back at most 8 files of at most 16 MiB each (../shared/docs/gpu.md), so the run's record (its
`train_config.yaml`, `training_summary.json`, `final/` model and the results file of `vaner eval`) goes back as one
tar cut into parts of at most 16 MiB, with a manifest of SHA-256 sums that `--join` checks. Results are written
after each corpus, so a run cut short keeps what it scored. Anything after `--` goes to `vaner train` as overrides
(the CPU dry run of the tests: `-- --backbone DIR --max_train_sentences 16 --per_device_batch_size 4`).
"""

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
PART_BYTES = 16 * 1024 * 1024  # the largest file the GPU machine gives back
RECORD = ("train_config.yaml", "training_summary.json", "final", "results.json", "results.md")


def vaner(*args: str) -> None:
    command = [sys.executable, "-m", "modeling_vaner.commands.cli", *args]
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=REPO_ROOT)


def train_and_score(args, overrides: list[str]) -> Path:
    from modeling_vaner.corpora import PAPER_CORPORA

    run = Path(args.out).resolve()
    start = time.perf_counter()
    vaner(
        "train",
        "--config",
        str(Path(args.config).resolve()),
        "--output_dir",
        str(run),
        "--time_budget_minutes",
        str(args.budget_minutes),
        *overrides,
    )
    print(f"trained in {time.perf_counter() - start:.0f} s", flush=True)
    score = [
        "eval",
        "--model",
        str(run / "final"),
        "--name",
        args.name or Path(args.config).stem,
        "--datasets",
        ",".join(PAPER_CORPORA),
        "--batch-size",
        str(args.batch_size),
        "--output",
        str(run / "results.json"),
    ]
    vaner(*score, *(["--limit", str(args.limit)] if args.limit else []))
    return run


def pack(run: Path) -> Path:
    """The run's record as one tar in parts of at most 16 MiB, and `manifest.json` with their SHA-256 sums."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in RECORD:
            if (run / name).exists():
                tar.add(run / name, arcname=name)
    data = buffer.getvalue()
    transfer = run / "transfer"
    transfer.mkdir(exist_ok=True)
    parts = []
    for number, start in enumerate(range(0, len(data), PART_BYTES)):
        part = transfer / f"record.tar.gz.part{number:02d}"
        part.write_bytes(data[start : start + PART_BYTES])
        parts.append({"name": part.name, "sha256": hashlib.sha256(part.read_bytes()).hexdigest()})
    manifest = {"parts": parts, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (transfer / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"packed {len(data) / 2**20:.1f} MiB in {len(parts)} part(s) -> {transfer}", flush=True)
    return transfer


def join(transfer: Path, destination: Path) -> None:
    """Check every part and the whole against the manifest, then unpack the record into `destination`."""
    manifest = read_manifest(transfer)
    data = b""
    for part in manifest["parts"]:
        if not (transfer / part["name"]).is_file():
            sys.exit(f"{transfer / part['name']}: missing; copy every part the manifest names into {transfer}.")
        content = (transfer / part["name"]).read_bytes()
        if hashlib.sha256(content).hexdigest() != part["sha256"]:
            sys.exit(f"{transfer / part['name']}: SHA-256 differs from the manifest; copy it again.")
        data += content
    if hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        sys.exit(f"{transfer}: the joined record's SHA-256 differs from the manifest.")
    destination.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(destination, filter="data")
    print(f"unpacked {len(manifest['parts'])} part(s) into {destination}")


def read_manifest(transfer: Path) -> dict:
    """The transfer's `manifest.json`, checked: a clear exit when it is missing or not one `pack` wrote."""
    path = transfer / "manifest.json"
    if not path.is_file():
        sys.exit(f"{path}: no such file; --join takes the transfer folder a run wrote (its parts and manifest.json).")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        sys.exit(f"{path}: not JSON ({error}); copy it again from the GPU machine.")
    parts = manifest.get("parts") if isinstance(manifest, dict) else None
    well_formed = (
        isinstance(parts, list)
        and isinstance(manifest.get("sha256"), str)
        and all(
            isinstance(part, dict)
            and isinstance(part.get("sha256"), str)
            and isinstance(part.get("name"), str)
            and part["name"] == Path(part["name"]).name  # a file of the transfer folder, never a path out of it
            for part in parts
        )
    )
    if not well_formed:
        sys.exit(f"{path}: not a manifest of gpu_run.py (parts with name and sha256, and the whole's sha256).")
    return manifest


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    overrides = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="the recipe to train (configs/*.yaml)")
    parser.add_argument("--out", help="the run folder")
    parser.add_argument("--budget-minutes", type=float, help="training time budget (the recipe's if not given)")
    parser.add_argument("--name", help="the model's name on the leaderboard (default: the recipe's file name)")
    parser.add_argument("--limit", type=int, help="score only the first N sentences of each test set (dry runs)")
    parser.add_argument("--batch-size", type=int, default=128, help="vaner eval's batch size")
    parser.add_argument("--join", nargs=2, metavar=("TRANSFER", "DESTINATION"), help="unpack a packed record")
    args = parser.parse_args(argv)
    if args.join:
        join(Path(args.join[0]), Path(args.join[1]))
        return
    if not args.config or not args.out:
        parser.error("--config and --out are required (or --join TRANSFER DESTINATION)")
    if args.budget_minutes is None:
        import yaml

        args.budget_minutes = yaml.safe_load(Path(args.config).read_text())["time_budget_minutes"]
    pack(train_and_score(args, overrides))


if __name__ == "__main__":
    main()

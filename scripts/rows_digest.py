"""SHA-256 digests of the rows a recipe trains and is checked on (training rows of the first epoch, devel rows), for
refactors that must not change them: run it before and after, the digests must match.

    .venv/bin/python scripts/rows_digest.py configs/gpu_smollm2.yaml --max_train_sentences 300
"""

import hashlib
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def digest(rows) -> str:
    """One digest over every row's ids and labels, in order."""
    sha = hashlib.sha256()
    for row in rows:
        sha.update(json.dumps([row["input_ids"], row["labels"]]).encode())
    return sha.hexdigest()


def main(argv: list[str]) -> None:
    from modeling_vaner.training import TrainConfig, parse_overrides
    from modeling_vaner.training.run import load_train_sets, model_and_rows

    with tempfile.TemporaryDirectory() as scratch:
        overrides = {**parse_overrides(argv[1:]), "output_dir": scratch, "lora": False}
        config = TrainConfig.from_yaml(argv[0], overrides)
        _, _, rows = model_and_rows(config, load_train_sets(config))
        print(json.dumps({"recipe": argv[0], "train": digest(rows["train"]), "devel": digest(rows["eval"])}))


if __name__ == "__main__":
    main(sys.argv[1:])

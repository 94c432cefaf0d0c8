"""The GPU recipes and the script that trains one on a lent GPU, scores it and packs what comes back: its CPU dry
run (a tiny backbone, a budget of seconds, two sentences per test set)."""

import json
import subprocess
import sys

import pytest

from modeling_vaner.training import TrainConfig
from tests.conftest import REPO_ROOT, save_tiny_backbone


def join(transfer, destination) -> subprocess.CompletedProcess:
    """`scripts/gpu_run.py --join TRANSFER DESTINATION`, as a user runs it after copying a run back."""
    command = [sys.executable, "scripts/gpu_run.py", "--join", str(transfer), str(destination)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=300)


@pytest.mark.parametrize("recipe, heads, batch", [("gpu_smollm2", "shared", 128), ("gpu_one_pass", "per_type", 512)])
def test_the_gpu_recipes_are_valid(recipe, heads, batch):
    config = TrainConfig.from_yaml(REPO_ROOT / "configs" / f"{recipe}.yaml")
    assert (config.heads, config.per_device_batch_size, config.lr_schedule) == (heads, batch, "budget")


@pytest.fixture
def tiny_backbone(tmp_path, smollm2_tokenizer):
    return save_tiny_backbone(tmp_path / "backbone", smollm2_tokenizer)


def test_the_gpu_script_trains_scores_and_packs_on_a_cpu(tmp_path, tiny_backbone):
    from modeling_vaner import load_vaner
    from modeling_vaner.corpora import CORE_CORPORA, UNSEEN_CORPORA

    command = [
        sys.executable,
        "scripts/gpu_run.py",
        "--config",
        "configs/gpu_one_pass.yaml",
        "--out",
        str(tmp_path / "run"),
        "--budget-minutes",
        "0.02",
        "--limit",
        "2",
        "--batch-size",
        "8",
        "--",
        "--backbone",
        str(tiny_backbone),
        "--max_train_sentences",
        "16",
        "--max_eval_sentences",
        "4",
        "--per_device_batch_size",
        "4",
        "--bf16",
        "false",
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    transfer = tmp_path / "run" / "transfer"
    parts = sorted(transfer.glob("record.tar.gz.part*"))
    assert parts and all(part.stat().st_size <= 16 * 2**20 for part in parts)

    joined = join(transfer, tmp_path / "back")
    assert joined.returncode == 0, joined.stderr
    scored = json.loads((tmp_path / "back" / "results.json").read_text())["results"]
    assert {row["dataset"] for row in scored} == {*CORE_CORPORA, *UNSEEN_CORPORA}
    assert all(row["sentences"] == 2 for row in scored)
    model, _ = load_vaner(tmp_path / "back" / "final")
    assert model.config.head_layout == "per_type"
    assert json.loads((tmp_path / "back" / "training_summary.json").read_text())["global_step"] >= 1

    parts[0].write_bytes(parts[0].read_bytes()[:-1] + b"x")  # a part damaged on its way back is refused
    damaged = join(transfer, tmp_path / "bad")
    assert damaged.returncode != 0 and "SHA-256 differs" in damaged.stderr and not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "manifest, said",
    [
        (None, "manifest.json: no such file"),
        ("{not json", "manifest.json: not JSON"),
        ("[1, 2]", "manifest.json: not a manifest of gpu_run.py"),
        ('{"parts": [{"name": "../../etc/passwd", "sha256": "x"}], "sha256": "x"}', "not a manifest of gpu_run.py"),
        ('{"parts": [{"name": "record.tar.gz.part000", "sha256": "x"}], "sha256": "x"}', "part000: missing"),
    ],
)
def test_join_says_what_is_wrong_with_a_transfer_folder(tmp_path, manifest, said):
    if manifest is not None:
        (tmp_path / "manifest.json").write_text(manifest)
    joined = join(tmp_path, tmp_path / "back")
    assert joined.returncode == 1 and said in joined.stderr and "Traceback" not in joined.stderr, joined.stderr
    assert not (tmp_path / "back").exists()

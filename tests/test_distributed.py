"""The same training code, data-parallel: 2 CPU processes over gloo under torchrun."""

import os
import subprocess
import sys

import torch

from tests.conftest import REPO_ROOT
from tests.local_hub import free_port


def test_two_ranks_finish_with_identical_weights(tmp_path, smollm2_dir):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        str(REPO_ROOT / "tests" / "helpers" / "ddp_train.py"),
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, check=False, text=True, env=env, cwd=REPO_ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2] and [r["step"] for r in ranks] == [6, 6]
    for name, tensor in ranks[0]["state"].items():
        assert torch.equal(tensor, ranks[1]["state"][name]), name
    # ...and they trained: the head moved away from its seeded initialisation.
    torch.manual_seed(0)
    from modeling_vaner import VanerForTokenClassification
    from tests.conftest import tiny_config

    initial = VanerForTokenClassification(
        tiny_config(vocab_size=ranks[0]["state"]["model.embed_tokens.weight"].shape[0], pad_token_id=2)
    )
    assert not torch.equal(initial.score.weight, ranks[0]["state"]["score.weight"])

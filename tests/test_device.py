"""`--device` and the `device=` of the Python API: auto takes CUDA when present, else the CPU; cuda without CUDA is
a clear error naming the option; results files record what ran the model."""

import json

import pytest
import torch

from harness.runner import HarnessError, run_eval
from modeling_vaner.commands.cli import main
from modeling_vaner.loading import DeviceError, load_vaner, resolve_device, resolve_dtype

needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")


def test_auto_and_cpu_resolve_on_this_machine():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected and resolve_device(None).type == expected
    assert resolve_device("cpu").type == "cpu"
    assert resolve_dtype(None, torch.device("cpu")) == torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16  # bf16 is the default on CUDA
    assert resolve_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(DeviceError, match="^device tpu: unknown device"):
        resolve_device("tpu")


@needs_no_cuda
def test_cuda_without_cuda_is_a_clear_error_everywhere(tiny_vaner_dir, tmp_path, capsys):
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        load_vaner(tiny_vaner_dir, device="cuda")
    for argv in (
        ["predict", "--model", str(tiny_vaner_dir), "--device", "cuda", "Aspirin."],
        [
            "eval",
            "--model",
            str(tiny_vaner_dir),
            "--datasets",
            "s800",
            "--limit",
            "2",
            "--device",
            "cuda",
            "--output",
            str(tmp_path / "r.json"),
        ],
        ["demo", "--device", "cuda:0"],
    ):
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert "--device" in error and "no CUDA GPU" in error and "Traceback" not in error, argv
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_the_python_api_and_the_pipeline_run_on_the_requested_device(tiny_vaner_dir, device):
    from transformers import pipeline

    model, _ = load_vaner(tiny_vaner_dir, device=device)
    assert model.device.type == resolve_device(device).type
    assert model.dtype == resolve_dtype(None, model.device)
    ner = pipeline(
        "vaner-ner",
        model=str(tiny_vaner_dir),
        trust_remote_code=True,
        device=device if device != "auto" else resolve_device("auto").type,
    )
    assert ner.model.device.type == model.device.type
    assert isinstance(ner("Aspirin lowers fever."), list)


def test_the_results_file_records_the_device(tiny_vaner_dir, tmp_path):
    output = tmp_path / "results.json"
    run_eval(str(tiny_vaner_dir), ["s800"], output=output, limit=3, device="cpu")
    saved = json.loads(output.read_text())
    assert saved["device"]["type"] == "cpu" and saved["device"]["name"] and saved["device"]["threads"] >= 1
    assert saved["dtype"] == "float32"  # auto on the CPU, recorded by name
    # A resumed run with every corpus done still writes this run's record (device included), keeping the rows.
    saved["device"] = {"type": "cpu", "name": "elsewhere"}
    output.write_text(json.dumps(saved))
    run_eval(str(tiny_vaner_dir), ["s800"], output=output, limit=3, device="cpu", resume=True)
    again = json.loads(output.read_text())
    assert again["device"]["name"] != "elsewhere" and again["results"] == saved["results"]
    if not torch.cuda.is_available():
        with pytest.raises(HarnessError, match="^device cuda: "):
            run_eval(str(tiny_vaner_dir), ["s800"], output=tmp_path / "other.json", limit=3, device="cuda")

"""Where a model runs (`runtimes.py`): `auto` takes ONNX Runtime in float32 only where the model's export gave
PyTorch's logits when it was written, never int8 unasked; the default model's export lives in the VANER cache."""

import copy
import importlib.util
import json

import pytest
import torch

from modeling_vaner import runtimes, save_vaner
from modeling_vaner.commands.cli import main
from modeling_vaner.embedded import DEFAULT_MODEL_DIR
from modeling_vaner.errors import UsageError
from modeling_vaner.onnx_runtime import export_onnx, load_for_runtime, runtime_of
from modeling_vaner.processing_vaner import ONNX_CHECKS, export_agrees
from modeling_vaner.runtimes import check_runtime, onnx_home, resolve_runtime
from tests.conftest import REPO_ROOT


@pytest.fixture
def model_dir(tiny_vaner, tmp_path):
    folder = tmp_path / "model"
    save_vaner(*tiny_vaner, folder)
    return folder


def test_auto_runs_an_export_that_gave_pytorchs_logits_and_nothing_else(tiny_vaner, model_dir, monkeypatch):
    assert resolve_runtime(str(model_dir), "auto", "auto") == "torch"  # nothing exported yet
    export_onnx(tiny_vaner[0], model_dir, int8=True)
    record = json.loads((model_dir / "onnx" / ONNX_CHECKS).read_text())
    assert record["model.onnx"]["max_abs_logit_difference"] < 1e-4 and "model_int8.onnx" in record
    assert resolve_runtime(str(model_dir), "auto", "auto") == "onnx"  # float32, never int8 unasked
    assert resolve_runtime(str(model_dir), "auto", "cuda") == "torch"  # ONNX Runtime runs here on the CPU only
    assert resolve_runtime(str(model_dir), "onnx-int8", "auto") == "onnx-int8"  # asked for: as asked
    assert runtime_of(load_for_runtime(str(model_dir))[0]) == "onnx"
    real_find_spec = importlib.util.find_spec
    with monkeypatch.context() as patch:  # ONNX Runtime not installed
        patch.setattr(
            importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real_find_spec(name, *a)
        )
        assert resolve_runtime(str(model_dir), "auto", "cpu") == "torch"
    record["model.onnx"]["max_abs_logit_difference"] = 0.5  # an export that does not give PyTorch's answers
    (model_dir / "onnx" / ONNX_CHECKS).write_text(json.dumps(record))
    assert resolve_runtime(str(model_dir), "auto", "cpu") == "torch"
    assert runtime_of(load_for_runtime(str(model_dir), device="cpu")[0]) == "torch"


def test_eval_records_the_runtime_auto_chose(tiny_vaner, model_dir, tmp_path, capsys):
    run = ["eval", "--model", str(model_dir), "--datasets", "s800", "--split", "devel", "--limit", "4"]
    assert main([*run, "--output", str(tmp_path / "before.json")]) == 0
    export_onnx(tiny_vaner[0], model_dir)
    assert main([*run, "--output", str(tmp_path / "after.json")]) == 0
    saved = {name: json.loads((tmp_path / f"{name}.json").read_text()) for name in ("before", "after")}
    assert saved["before"]["runtime"] is None and saved["after"]["runtime"] == "onnx"  # None: PyTorch, as before
    assert saved["after"]["results"][0]["strict"] == saved["before"]["results"][0]["strict"]


def test_the_default_models_export_lives_in_the_vaner_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VANER_CACHE", str(tmp_path / "cache"))
    assert onnx_home(None) == onnx_home(DEFAULT_MODEL_DIR) == tmp_path / "cache" / "default_model"
    assert onnx_home(str(tmp_path / "mine")) == tmp_path / "mine"
    with pytest.raises(
        UsageError, match=r"cache/default_model has no onnx/model.onnx; write it with `vaner export-onnx`"
    ):
        check_runtime(None, "onnx", "cpu")
    assert resolve_runtime(None, "auto", "cpu") == "torch"


def test_an_export_older_than_the_weights_is_never_run(tiny_vaner, model_dir, capsys):
    assert main(["export-onnx", "--model", str(model_dir)]) == 0
    capsys.readouterr()
    assert resolve_runtime(str(model_dir), "auto", "cpu") == "onnx"
    model, tokenizer = tiny_vaner
    trained_again = copy.deepcopy(model)
    with torch.no_grad():
        trained_again.score.bias.add_(1.0)
    save_vaner(trained_again, tokenizer, model_dir)  # the same folder, other weights; onnx/ left as it was
    assert resolve_runtime(str(model_dir), "auto", "cpu") == "torch"
    with pytest.raises(UsageError, match="was exported from other weights than the model holds now; write it again"):
        check_runtime(str(model_dir), "onnx", "cpu")
    assert main(["export-onnx", "--model", str(model_dir)]) == 0
    assert resolve_runtime(str(model_dir), "auto", "cpu") == "onnx"


def test_the_int8_rule_is_what_its_measurement_says():
    record = json.loads((REPO_ROOT / "benchmarks" / "results" / "cpu_int8.json").read_text())
    assert (runtimes.INT8_RECIPE, runtimes.INT8_AGREES) == (record["chosen"], record["auto_int8"])
    assert record["auto_int8"] == any(
        run["passes"] for name, run in record["runs"].items() if name in record["recipes"]
    )


def test_auto_runs_the_default_models_int8_graph_only_once_int8_agrees(tiny_vaner, model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VANER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runtimes, "DEFAULT_MODEL_DIR", model_dir)  # the tiny model stands in for the default
    export_onnx(tiny_vaner[0], onnx_home(None), int8=True, weights_dir=model_dir)
    assert resolve_runtime(None, "auto", "cpu") == "onnx"
    monkeypatch.setattr(runtimes, "INT8_AGREES", True)
    assert resolve_runtime(None, "auto", "cpu") == "onnx-int8"
    own = tmp_path / "own"
    save_vaner(*tiny_vaner, own)
    export_onnx(tiny_vaner[0], own, int8=True, weights_dir=own)
    assert resolve_runtime(str(own), "auto", "cpu") == "onnx"  # a model of one's own: never int8 unasked
    monkeypatch.setattr(runtimes, "INT8_RECIPE", "dynamic")  # a graph of another recipe than the measured one
    assert resolve_runtime(None, "auto", "cpu") == "onnx"


def test_an_export_agrees_within_1e4_of_its_largest_logit():
    def record(difference, largest=None):
        checked = {"max_abs_logit_difference": difference}
        return {"model.onnx": checked if largest is None else {**checked, "max_abs_logit": largest}}

    assert export_agrees(record(5e-4, 10.0)) and export_agrees(record(9e-5))  # no largest logit recorded: scale 1
    assert not export_agrees(record(5e-4, 1.0)) and not export_agrees(record(2e-4, 0.5))  # small logits: 1e-4 still
    assert not export_agrees(record(True)) and not export_agrees({}) and not export_agrees(record(1e-6), "onnx-int8")

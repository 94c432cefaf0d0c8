"""VANER on ONNX Runtime (`vaner export-onnx`, `--runtime onnx`): the export's logits are PyTorch's on padded batches
of mixed lengths, for a shared head and a head per type, and `vaner predict` gives the same entities either way."""

import json

import onnxruntime  # noqa: F401 - a dev dependency (vaner[onnx]): missing, the suite fails loudly
import pytest
import torch

from modeling_vaner import VanerForTokenClassification, save_vaner
from modeling_vaner.commands.cli import main
from modeling_vaner.onnx_runtime import OnnxVanerModel, export_onnx
from tests.conftest import tiny_config


@pytest.mark.parametrize("head_layout", ["shared", "per_type"])
def test_the_export_gives_pytorchs_logits_on_padded_batches_of_mixed_lengths(tmp_path, head_layout):
    torch.manual_seed(0)
    model = VanerForTokenClassification(tiny_config(head_layout=head_layout)).eval()
    [graph] = export_onnx(model, tmp_path)
    onnx = OnnxVanerModel(graph, model.config)
    for batch, length in ((1, 5), (3, 17), (4, 40)):  # none of them the shapes it was exported with
        ids = torch.randint(3, 128, (batch, length))
        mask = (torch.arange(length) < torch.randint(1, length + 1, (batch, 1))).long()
        mask[0] = 1  # one row whole, the others padded
        with torch.no_grad():
            expected = model(input_ids=ids, attention_mask=mask).logits
        got = onnx(input_ids=ids, attention_mask=mask).logits
        assert got.shape == expected.shape
        assert (got - expected)[mask.bool()].abs().max() < 1e-4  # every position that is not padding


def test_predict_on_onnx_runtime_gives_the_entities_pytorch_gives(tiny_vaner, tmp_path, capsys):
    model_dir = tmp_path / "model"
    save_vaner(*tiny_vaner, model_dir)
    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers."
    run = ["predict", text, "--model", str(model_dir), "--types", "Chemical,Disease"]
    assert main([*run, "--runtime", "onnx"]) == 2  # not exported yet: said before anything loads
    assert f"vaner predict: --runtime onnx: {model_dir} has no onnx/model.onnx; write it with `vaner export-onnx" in (
        capsys.readouterr().err
    )
    assert main(["export-onnx", "--model", str(model_dir), "--int8"]) == 0
    assert capsys.readouterr().out.split() == [
        str(model_dir / "onnx" / "model.onnx"),
        str(model_dir / "onnx" / "model_int8.onnx"),
    ]
    answers = {}
    for runtime in ("torch", "onnx", "onnx-int8"):
        assert main([*run, "--runtime", runtime]) == 0
        answers[runtime] = json.loads(capsys.readouterr().out)["entities"]
    spans = {runtime: [(e["start"], e["end"], e["type"]) for e in entities] for runtime, entities in answers.items()}
    assert answers["torch"] and spans["onnx"] == spans["torch"]
    assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(answers["onnx"], answers["torch"]))
    assert answers["onnx-int8"]  # int8 answers; how close it stays is measured, not asserted on a random model


def test_eval_on_onnx_runtime_scores_what_pytorch_scores_and_records_the_runtime(tiny_vaner, tmp_path, capsys):
    model_dir = tmp_path / "model"
    save_vaner(*tiny_vaner, model_dir)
    run = ["eval", "--model", str(model_dir), "--datasets", "NCBI-disease,s800", "--split", "devel", "--limit", "6"]
    assert main([*run, "--runtime", "onnx", "--output", str(tmp_path / "x.json")]) == 2  # not exported: said at once
    assert "--runtime onnx: " in capsys.readouterr().err and not (tmp_path / "x.json").exists()
    assert main(["export-onnx", "--model", str(model_dir)]) == 0
    rows = {}
    for runtime in ("torch", "onnx"):
        output = tmp_path / f"{runtime}.json"
        assert main([*run, "--runtime", runtime, "--output", str(output)]) == 0
        saved = json.loads(output.read_text())
        assert saved["runtime"] == (None if runtime == "torch" else runtime)  # older files (no field) were PyTorch's
        rows[runtime] = [{k: r[k] for k in ("dataset", "strict", "predicted_entities")} for r in saved["results"]]
    assert rows["onnx"] == rows["torch"] and sum(row["predicted_entities"] for row in rows["torch"]) > 0
    capsys.readouterr()
    assert main([*run, "--runtime", "onnx", "--output", str(tmp_path / "torch.json"), "--resume"]) == 2
    assert (
        "vaner eval: --output " in (err := capsys.readouterr().err) and "cannot resume from it" in err
    )  # rows of another runtime are not mixed in


def test_the_space_tags_on_onnx_runtime_as_on_pytorch(tiny_vaner, tmp_path):
    from space.app import load_tagger

    model_dir = tmp_path / "model"
    save_vaner(*tiny_vaner, model_dir)
    export_onnx(tiny_vaner[0], model_dir)
    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers."
    answers = {}
    for runtime in ("torch", "onnx"):
        tag, _, _ = load_tagger(str(model_dir), "cpu", runtime)
        answers[runtime] = [(e["start"], e["end"], e["type"]) for e in tag(text, ["Chemical", "Gene"], None)]
    assert answers["torch"] and answers["onnx"] == answers["torch"]


def test_the_pipeline_runs_the_export_where_there_is_one_and_says_why_not_when_asked_to(tiny_vaner, tmp_path):
    from transformers import pipeline

    model_dir = tmp_path / "model"
    save_vaner(*tiny_vaner, model_dir)
    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers."
    assert pipeline("vaner-ner", model=str(model_dir), trust_remote_code=True).runtime == "torch"  # nothing exported
    with pytest.raises(ValueError, match=r"runtime='onnx': .*model has no float32 onnx/model.onnx that gave PyTorch"):
        pipeline("vaner-ner", model=str(model_dir), trust_remote_code=True, runtime="onnx")
    with pytest.raises(ValueError, match="runtime 'fast': use one of auto, torch, onnx"):
        pipeline("vaner-ner", model=str(model_dir), trust_remote_code=True, runtime="fast")
    export_onnx(tiny_vaner[0], model_dir)
    answers = {}
    for runtime in ("auto", "torch"):
        ner = pipeline("token-classification", model=str(model_dir), trust_remote_code=True, runtime=runtime)
        answers[ner.runtime] = ner(text, entity_types=["Chemical", "Disease"])
    assert set(answers) == {"onnx", "torch"}  # auto: the export, which gave PyTorch's logits
    spans = {runtime: [(e["start"], e["end"], e["type"]) for e in found] for runtime, found in answers.items()}
    assert spans["torch"] and spans["onnx"] == spans["torch"]
    assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(answers["onnx"], answers["torch"]))


def test_the_pipeline_keeps_pytorch_for_a_model_changed_since_its_export(tiny_vaner, tmp_path):
    from transformers import AutoModelForTokenClassification, pipeline

    model_dir = tmp_path / "model"
    save_vaner(*tiny_vaner, model_dir)
    export_onnx(tiny_vaner[0], model_dir)
    model = AutoModelForTokenClassification.from_pretrained(model_dir, trust_remote_code=True).eval()
    assert pipeline("vaner-ner", model=model, tokenizer=tiny_vaner[1]).runtime == "onnx"
    with torch.no_grad():
        model.score.bias.add_(1.0)  # trained further in memory: its folder's export no longer gives its logits
    assert pipeline("vaner-ner", model=model, tokenizer=tiny_vaner[1]).runtime == "torch"
    with pytest.raises(ValueError, match="runtime='onnx': the export in .* does not give this model's logits"):
        pipeline("vaner-ner", model=model, tokenizer=tiny_vaner[1], runtime="onnx")


def test_the_pipeline_of_a_model_made_in_memory_runs_pytorch(tiny_vaner):
    from transformers import pipeline

    model = VanerForTokenClassification(tiny_vaner[0].config).eval()  # no folder or repo behind it
    assert pipeline("vaner-ner", model=model, tokenizer=tiny_vaner[1]).runtime == "torch"
    with pytest.raises(ValueError, match="runtime='onnx': the model was not loaded from a folder or repo"):
        pipeline("vaner-ner", model=model, tokenizer=tiny_vaner[1], runtime="onnx")

"""The embedded default model (VANER LoRA on SmolLM2-135M): it loads, finds obvious entities, and keeps its F1."""

import json

import pytest

from modeling_vaner import DEFAULT_MODEL_DIR, VanerTagger, load_vaner

pytestmark = pytest.mark.backbone

OBVIOUS = [
    ("Aspirin is used to prevent heart attacks.", "Aspirin", "Chemical"),
    ("She was diagnosed with breast cancer last year.", "breast cancer", "Disease"),
    ("Mutations in BRCA1 increase the risk of cancer.", "BRCA1", "Gene"),
    ("The infection was caused by Escherichia coli.", "Escherichia coli", "Species"),
]


@pytest.fixture(scope="module")
def default_model(smollm2_dir):
    return load_vaner()


def test_the_shipped_weights_are_small_and_name_their_backbone():
    config = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    assert config["model_type"] == "vaner" and config["adapter_subfolder"] == "adapter"
    assert config["backbone_provenance"]["gguf_sha256"]
    shipped = [
        p for p in DEFAULT_MODEL_DIR.rglob("*") if p.is_file() and "onnx" not in p.relative_to(DEFAULT_MODEL_DIR).parts
    ]
    size = sum(p.stat().st_size for p in shipped)  # (onnx/: what a user's `vaner export-onnx` writes there, gitignored)
    # LoRA r=32 on seven projections and the head in bfloat16: 19.6 MB. The backbone (270 MB in bf16) never ships.
    assert size < 32 * 2**20, f"{size} bytes: the backbone must never be committed"


def test_the_fixed_sentence_gets_all_four_types_at_their_offsets(default_model):
    # `make run`'s first sample sentence; offsets written out by hand, not derived from the tagger's output.
    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers, unlike Escherichia coli infection."
    [entities] = VanerTagger(*default_model)(text)
    found = {(e["start"], e["end"], e["type"]) for e in entities}
    assert {(0, 7, "Chemical"), (28, 41, "Disease"), (45, 50, "Gene"), (68, 84, "Species")} <= found, entities


@pytest.mark.parametrize("text, mention, entity_type", OBVIOUS)
def test_obvious_entities_are_found(default_model, text, mention, entity_type):
    [entities] = VanerTagger(*default_model)(text, entity_types=[entity_type])
    found = [(e["text"], e["type"]) for e in entities]
    assert (mention, entity_type) in found, found


def test_f1_on_a_fixed_ncbi_devel_slice_does_not_regress(default_model):
    from harness.runner import VanerPredictor, evaluate_dataset

    recorded = json.loads((DEFAULT_MODEL_DIR / "regression.json").read_text())
    result = evaluate_dataset(
        VanerPredictor(*default_model), recorded["dataset"], recorded["split"], limit=recorded["sentences"]
    )
    f1 = 100 * result["strict"]["f1"]
    print(
        f"strict F1 {f1:.2f} on {recorded['sentences']} {recorded['dataset']} {recorded['split']} sentences "
        f"(recorded {recorded['strict_f1']:.2f})"
    )
    # Both ways: a jump is as suspicious as a drop (a metric bug inflates F1); a new figure is recorded on purpose,
    # by scripts/ship_default_model.py, never drifted into.
    assert abs(f1 - recorded["strict_f1"]) <= 2.0

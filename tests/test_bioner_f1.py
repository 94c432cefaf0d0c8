"""The `bioner_f1` metric (`harness/metrics/`): strict and conlleval-style F1, spans counted per sentence, ClassLabel
ids read from any folder."""

import json
import subprocess
import sys

import evaluate
import pytest

from harness.runner import METRIC_PATH
from tests.conftest import NAMES, write_corpus


def test_the_conlleval_figure_differs_from_strict_when_a_predictor_emits_i_after_o(tmp_path):
    from harness.runner import evaluate_dataset
    from modeling_vaner.corpora import register_corpus

    register_corpus("i-after-o", write_corpus(tmp_path / "corpus", 2), "Disease")

    class IAfterO:
        kind = "token-classification"

        def predict(self, sentences, dataset, entity_type):
            return [["O", "O", "I", "I", "O"] for _ in sentences]

    result = evaluate_dataset(IAfterO(), "i-after-o")
    assert result["strict"]["f1"] == 0.0 and result["default"]["f1"] == 1.0


def test_the_metric_counts_the_same_span_in_two_sentences_twice():
    metric = evaluate.load(str(METRIC_PATH))
    gold = [["B-D", "I-D", "O"], ["B-D", "I-D", "O"], ["O", "B-D", "O"]]
    predicted = [["B-D", "I-D", "O"], ["O", "O", "O"], ["O", "B-D", "O"]]
    scores = metric.compute(predictions=predicted, references=gold)
    # By hand: 3 gold mentions, 2 predicted, 2 right (spans (0,2) of sentence 0 and (1,2) of sentence 2).
    assert (scores["gold_entities"], scores["predicted_entities"]) == (3, 2)
    assert (scores["precision"], scores["recall"]) == pytest.approx((1.0, 2 / 3))
    scores = metric.compute(predictions=[["B-D", "I-D", "O"]] * 2, references=[["B-D", "I-D", "O"], ["O"] * 3])
    assert (scores["precision"], scores["recall"]) == pytest.approx((0.5, 1.0))  # the repeat is a false positive


def test_the_metric_reads_classlabel_ids_from_any_folder(tmp_path):
    from harness.runner import METRIC_PATH

    code = f"""
import evaluate, json
metric = evaluate.load({str(METRIC_PATH)!r})
names = {NAMES!r}
ids = metric.compute(predictions=[[1, 0, 3, 4, 0]], references=[[1, 0, 3, 0, 0]], label_names=names)
text = metric.compute(predictions=[[names[i] for i in [1, 0, 3, 4, 0]]],
                      references=[[names[i] for i in [1, 0, 3, 0, 0]]])
try:
    metric.compute(predictions=[[1]], references=[[1]])
    missing = "accepted"
except ValueError as error:
    missing = str(error)
print(json.dumps({{"ids": ids["f1"], "text": text["f1"], "per_type": ids["per_type"]["Chemical"]["f1"],
                  "missing": missing}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=False, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["ids"] == out["text"] == 0.5 and out["per_type"] == 1.0
    assert "pass label_names" in out["missing"]

"""The training collator (`collate.py`): real rows of mixed lengths padded, their padding's labels ignored, for one
head and a head per type."""

import pytest

from modeling_vaner.corpora import load_corpus
from modeling_vaner.training import TrainConfig
from tests.conftest import (
    tiny_config,
)


@pytest.mark.parametrize("heads", [0, 2])
def test_the_collator_pads_a_real_mixed_length_batch_with_ignored_labels(smollm2_tokenizer, tmp_path, heads):
    from modeling_vaner.collate import RowCollator
    from modeling_vaner.processing_vaner import IGNORE_INDEX
    from modeling_vaner.training import build_train_rows

    config = TrainConfig(output_dir=str(tmp_path), corpora=["s800"], dbr_probability=0.0, max_length=512)
    rows = build_train_rows(
        config, smollm2_tokenizer, tiny_config(), {"s800": load_corpus("s800", "train").select(range(8))}
    )
    features = [dict(rows[i]) for i in range(8)]
    if heads:  # a head per type: each position's labels for every head, flattened position-major
        features = [{**f, "labels": [label for label in f["labels"] for _ in range(heads)]} for f in features]
    lengths = [len(f["input_ids"]) for f in features]
    assert len(set(lengths)) > 1  # mixed lengths: padding happens
    batch = RowCollator(smollm2_tokenizer.pad_token_id, heads)(features)
    longest = max(lengths)
    labels = batch["labels"] if heads else batch["labels"].unsqueeze(-1)
    assert tuple(labels.shape) == (8, longest, max(heads, 1)) and tuple(batch["input_ids"].shape) == (8, longest)
    for i, (feature, length) in enumerate(zip(features, lengths)):
        assert batch["attention_mask"][i].tolist() == [1] * length + [0] * (longest - length)
        assert batch["input_ids"][i, :length].tolist() == feature["input_ids"]  # the ids sit where the mask says
        assert labels[i, :length].flatten().tolist() == feature["labels"]
        assert (labels[i, length:] == IGNORE_INDEX).all()  # no padded position is ever learnt

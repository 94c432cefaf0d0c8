"""Training rows -> padded batches of tensors, fast enough that a GPU never waits for them (`benchmarks/
train_input_path.py`)."""

import numpy as np
import torch

from .processing_vaner import IGNORE_INDEX


class RowCollator:
    """Pads training rows (`input_ids`, `labels`; other keys such as `length` are dropped) to the batch's longest.

    Returns `input_ids` and `attention_mask` of shape `(batch_size, seq_len)` and `labels` of shape
    `(batch_size, seq_len)`, or `(batch_size, seq_len, heads)` for a model with a head per type (whose rows hold
    their labels flattened position-major). Padding goes on the right: VANER's positions skip padding, so the side
    changes nothing, and labels there are `IGNORE_INDEX`.
    """

    def __init__(self, pad_token_id: int, heads: int = 0):
        self.pad_token_id = pad_token_id
        self.heads = heads

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        lengths = np.array([len(feature["input_ids"]) for feature in features])
        longest, width = int(lengths.max()), max(self.heads, 1)
        input_ids = np.full((len(features), longest), self.pad_token_id, dtype=np.int64)
        labels = np.full((len(features), longest * width), IGNORE_INDEX, dtype=np.int64)
        for index, feature in enumerate(features):
            input_ids[index, : lengths[index]] = feature["input_ids"]
            labels[index, : lengths[index] * width] = feature["labels"]
        batch = {
            "input_ids": torch.from_numpy(input_ids),
            "attention_mask": torch.from_numpy((np.arange(longest) < lengths[:, None]).astype(np.int64)),
            "labels": torch.from_numpy(labels),
        }
        if self.heads:
            batch["labels"] = batch["labels"].view(len(features), longest, self.heads)
        return batch

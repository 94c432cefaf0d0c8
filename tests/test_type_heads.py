"""A head per type (`training/type_heads.py`): a one-pass copy of a shared-head model answers each type exactly as
the model it was copied from."""

import torch

from modeling_vaner.processing_vaner import Request, RequestEncoder
from tests.conftest import (
    TWO_SENTENCES,
    TYPES,
)


def test_a_one_pass_copy_of_a_shared_model_answers_each_type_exactly_as_it(tiny_vaner):
    from modeling_vaner.training.type_heads import with_type_heads

    shared, tokenizer = tiny_vaner
    copy = with_type_heads(shared, ["BC5CDR-chem", "s800"]).eval()
    assert copy.config.head_layout == "per_type" and copy.config.entity_types == TYPES
    encoder = RequestEncoder(tokenizer, max_length=64, pad_token_id=tokenizer.pad_token_id)
    for head, entity_type in enumerate(TYPES):
        rows = encoder.encode([Request(TWO_SENTENCES.split(), shared.config.instruction(entity_type))])
        input_ids = torch.tensor([rows[0].input_ids])
        with torch.no_grad():
            expected = shared(input_ids=input_ids).logits
            got = copy(input_ids=input_ids).logits[:, :, head]
        # The same to float rounding (a matmul over 12 outputs may sum in another order than over 3) ...
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
        # ... because every weight is the same, exactly: the backbone, and each type's rows of the head.
        rows = copy.score.weight[3 * head : 3 * head + 3], copy.score.bias[3 * head : 3 * head + 3]
        assert torch.equal(rows[0], shared.score.weight) and torch.equal(rows[1], shared.score.bias)
    backbone = {k: v for k, v in copy.state_dict().items() if not k.startswith("score.")}
    assert all(torch.equal(value, shared.state_dict()[key]) for key, value in backbone.items())
    assert shared.config.head_layout == "shared"  # the source is left as it was

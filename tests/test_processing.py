"""Model inputs and spans (`processing_vaner.py`): windows at the budget's edge, one input per sentence for a head
per type, a mention's score and offsets."""

import pytest
import torch

from modeling_vaner import VanerForTokenClassification, VanerTagger
from modeling_vaner.processing_vaner import Window, plan_windows
from tests.conftest import TWO_SENTENCES, per_type_model, tiny_config


class FixedProbabilities(__import__("torch").nn.Module):
    """A stand-in model whose every position has the same label probabilities (O, B, I)."""

    def __init__(self, config, probabilities):
        super().__init__()
        self.config = config
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.logits = torch.tensor(probabilities).log()

    def forward(self, input_ids, attention_mask=None, **kwargs):
        from types import SimpleNamespace

        return SimpleNamespace(logits=self.logits.expand(*input_ids.shape, 3))


def test_an_entity_score_is_its_chosen_labels_probability_and_offsets_keep_leading_space(smollm2_tokenizer):
    from modeling_vaner import VanerTagger
    from tests.conftest import tiny_config

    text = "   Aspirin causes cancer."
    for probabilities, score in (([0.1, 0.6, 0.3], 0.6), ([0.3, 0.45, 0.25], 0.45)):
        model = FixedProbabilities(tiny_config(), probabilities)
        tagger = VanerTagger(model, smollm2_tokenizer, tidy_mentions=False)  # the final "." stays a mention
        entities = tagger(text, entity_types=["Chemical"])[0]
        assert [(e["start"], e["end"], e["text"]) for e in entities] == [
            (3, 10, "Aspirin"),
            (11, 17, "causes"),
            (18, 24, "cancer"),
            (24, 25, "."),
        ]
        assert all(text[e["start"] : e["end"]] == e["text"] for e in entities)
        assert [e["score"] for e in entities] == pytest.approx([score] * 4)
    # I is the most likely label everywhere: one mention over every word (BIO repair opens it with B), scored by
    # the probability of the label each word chose (I), not of B.
    tagger = VanerTagger(FixedProbabilities(tiny_config(), [0.2, 0.35, 0.45]), smollm2_tokenizer, tidy_mentions=False)
    [entity] = tagger(text, entity_types=["Chemical"])[0]
    assert (entity["start"], entity["end"], entity["text"]) == (3, 25, "Aspirin causes cancer.")
    assert entity["score"] == pytest.approx(0.45)


@pytest.mark.parametrize(
    "piece_counts, budget, context, expected",
    [
        # context at least half the budget: cores shrink to one token and every word is cut to its first token
        ([5, 5, 5, 5], 10, 5, [Window(0, 0, 1, 4), Window(0, 1, 2, 4), Window(0, 2, 3, 4), Window(0, 3, 4, 4)]),
        (
            [1] * 7,
            4,
            2,
            [
                Window(0, 0, 1, 3),
                Window(0, 1, 2, 4),
                Window(0, 2, 3, 4),
                Window(1, 3, 4, 5),
                Window(2, 4, 5, 6),
                Window(3, 5, 6, 7),
                Window(4, 6, 7, 7),
            ],
        ),
        ([2, 9, 2], 10, 6, [Window(0, 0, 1, 3), Window(0, 1, 2, 3), Window(0, 2, 3, 3)]),
    ],
)
def test_windows_at_the_budget_edge(piece_counts, budget, context, expected):
    windows = plan_windows(piece_counts, budget, context)
    assert windows == expected
    for window in windows:  # with each word cut to the one-token core: never over the budget
        assert window.end - window.start <= budget


def test_one_input_per_sentence_whatever_the_types_requested(smollm2_tokenizer):
    asked_rows = []
    for layout, expected in (("per_type", 2), ("shared", 8)):  # two sentences, four types
        model = (
            per_type_model(smollm2_tokenizer)
            if layout == "per_type"
            else VanerForTokenClassification(tiny_config(vocab_size=len(smollm2_tokenizer), pad_token_id=2)).eval()
        )
        tagger = VanerTagger(model, smollm2_tokenizer)
        original = tagger._forward
        seen = []

        def counting(sequences, positions, original=original, seen=seen):
            seen.extend(sequences)
            return original(sequences, positions)

        tagger._forward = counting
        tagger(TWO_SENTENCES)
        assert len(seen) == expected, layout
        asked_rows.append(seen)
    instruction = smollm2_tokenizer.decode(asked_rows[0][0])
    assert instruction.startswith("If any Chemical, Disease, Gene or Species entity is mentioned in the input")

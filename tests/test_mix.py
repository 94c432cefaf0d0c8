"""Training rows (`training/mix.py`): every word labelled once on its first sub-token, corpora mixed by temperature,
the pinned instructions, DBR rows, packed inputs, and a head per type labelled only where its corpus annotates."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling_vaner import VanerTagger
from modeling_vaner.corpora import load_corpus
from modeling_vaner.processing_vaner import Request, RequestEncoder
from modeling_vaner.training import TrainConfig, corpus_weights, labelled_rows
from tests.conftest import (
    TYPES,
    per_type_model,
    tiny_config,
)

WORDS = st.lists(st.text(alphabet="abcdefgXYZ0123456789-αβ()", min_size=1, max_size=12), min_size=1, max_size=80)


PINNED_INSTRUCTIONS = {  # the paper's eight corpora, each under its own name and type
    "BC4CHEMD": "If any Chemical entity is mentioned in the BC4CHEMD input, extract it. ##input: ",
    "BC5CDR-chem": "If any Chemical entity is mentioned in the BC5CDR-chem input, extract it. ##input: ",
    "BC5CDR-disease": "If any Disease entity is mentioned in the BC5CDR-disease input, extract it. ##input: ",
    "NCBI-disease": "If any Disease entity is mentioned in the NCBI-disease input, extract it. ##input: ",
    "BC2GM": "If any Gene entity is mentioned in the BC2GM input, extract it. ##input: ",
    "JNLPBA": "If any Gene entity is mentioned in the JNLPBA input, extract it. ##input: ",
    "linnaeus": "If any Species entity is mentioned in the linnaeus input, extract it. ##input: ",
    "s800": "If any Species entity is mentioned in the s800 input, extract it. ##input: ",
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=WORDS, data=st.data(), max_length=st.integers(24, 120))
def test_every_word_is_labelled_once_on_its_first_subtoken(smollm2_tokenizer, words, data, max_length):
    tags = data.draw(st.lists(st.sampled_from("OBI"), min_size=len(words), max_size=len(words)))
    instruction = "If any Gene entity is mentioned in the BC2GM input, extract it. ##input: "
    encoder = RequestEncoder(smollm2_tokenizer, max_length, pad_token_id=smollm2_tokenizer.pad_token_id)
    rows = labelled_rows(encoder, [Request(words, instruction)], [tags])
    prompt = smollm2_tokenizer(instruction.rstrip())["input_ids"]
    labelled = []
    for row in rows:
        assert len(row["input_ids"]) == len(row["labels"]) <= max_length
        assert row["input_ids"][: len(prompt)] == prompt and set(row["labels"][: len(prompt)]) == {-100}
        labelled.extend(label for label in row["labels"] if label != -100)
    assert labelled == ["OBI".index(t) for t in tags]  # once each, in order, never dropped
    # The label sits on the word's first sub-token: with a window big enough, that is the first piece of " word".
    if len(rows) == 1:
        pieces = smollm2_tokenizer([" " + w for w in words], add_special_tokens=False)["input_ids"]
        positions = [i for i, label in enumerate(rows[0]["labels"]) if label != -100]
        assert [rows[0]["input_ids"][p] for p in positions] == [p[0] for p in pieces]


def test_temperature_flattens_corpus_weights():
    sizes = {"big": 9000, "small": 1000}
    assert corpus_weights(sizes, 1.0) == pytest.approx({"big": 0.9, "small": 0.1})
    flat = corpus_weights(sizes, 1e9)
    assert flat["big"] == pytest.approx(0.5, abs=1e-6)


def test_packed_training_inputs_are_the_inputs_the_tagger_packs(tiny_model, smollm2_tokenizer):
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.processing_vaner import VANER_LABELS
    from modeling_vaner.training import LABEL_IDS, build_eval_rows

    data = load_corpus("NCBI-disease", "devel").select(range(30))
    sentences = [(words, [VANER_LABELS[t] for t in tags]) for words, tags in zip(data["tokens"], data["ner_tags"])]
    instruction = tiny_model.config.instruction("Disease", "NCBI-disease")
    config = TrainConfig(corpora=["NCBI-disease"], max_eval_sentences=30, max_length=128, pack_tokens=128)
    rows = build_eval_rows(config, smollm2_tokenizer, tiny_model.config)  # the rows a packed run is scored on
    tagger = VanerTagger(tiny_model, smollm2_tokenizer, max_length=128, pack_tokens=128)
    encoded_rows = tagger.encoder.encode([Request(words, instruction) for words, _ in sentences])
    assert [row["input_ids"] for row in rows] == [row.input_ids for row in encoded_rows]
    assert len(rows) < 15  # packed, several sentences per input
    for row, encoded in zip(rows, encoded_rows):  # labels sit exactly where inference reads, each word's gold tag
        read = {
            position: LABEL_IDS[sentences[segment.request][1][segment.first_word + offset]]
            for segment in encoded.segments
            for offset, position in enumerate(segment.positions)
        }
        assert {p: label for p, label in enumerate(row["labels"]) if label != -100} == read


def test_the_instructions_of_the_eight_corpora_are_pinned_and_training_asks_them(tiny_vaner, tmp_path):
    from harness.runner import VanerPredictor
    from modeling_vaner.corpora import CORE_CORPORA, get_corpus
    from modeling_vaner.processing_vaner import instruction_ids
    from modeling_vaner.training import TrainConfig, build_train_rows

    model, tokenizer = tiny_vaner
    predictor = VanerPredictor(model, tokenizer)
    assert {
        name: predictor.instruction(name, get_corpus(name).entity_type) for name in CORE_CORPORA
    } == PINNED_INSTRUCTIONS
    for name in CORE_CORPORA:
        config = TrainConfig(output_dir=str(tmp_path), corpora=[name], max_train_sentences=3, dbr_probability=0.0)
        train_sets = {name: load_corpus(name, "train").select(range(3))}
        prompt = instruction_ids(tokenizer, PINNED_INSTRUCTIONS[name])
        rows = build_train_rows(config, tokenizer, model.config, train_sets)
        assert len(rows) >= 3 and all(row[: len(prompt)] == prompt for row in rows["input_ids"]), name


def test_the_dbr_probability_sets_how_many_dbr_rows_there_are(smollm2_tokenizer, tmp_path):
    from modeling_vaner.training import TrainConfig, build_dictionary, build_train_rows

    train_sets = {"s800": load_corpus("s800", "train").select(range(60))}
    counts = {}
    for probability in (0.0, 0.5, 1.0):
        config = TrainConfig(output_dir=str(tmp_path), corpora=["s800"], dbr_probability=probability, max_length=512)
        dictionary = build_dictionary(config, train_sets) if probability else None
        counts[probability] = len(build_train_rows(config, smollm2_tokenizer, tiny_config(), train_sets, dictionary))
    sentences = counts[0.0]
    assert sentences >= 60 and counts[1.0] == 2 * sentences  # every sentence brings one DBR item
    assert 0.35 * sentences < counts[0.5] - sentences < 0.65 * sentences


def test_corpus_shares_follow_the_temperature_by_value():
    from modeling_vaner.training import corpus_weights

    assert corpus_weights({"big": 9000, "small": 1000}, 2.0) == pytest.approx({"big": 0.75, "small": 0.25})
    assert corpus_weights({"a": 100, "b": 400, "c": 1600}, 2.0) == pytest.approx(
        {"a": 10 / 70, "b": 20 / 70, "c": 40 / 70}
    )


def test_bc5cdr_chemicals_and_diseases_train_together():
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.training.mix import corpus_sources, head_tags

    sets = {name: load_corpus(name, "devel").select(range(50)) for name in ("BC5CDR-chem", "s800", "BC5CDR-disease")}
    sources = corpus_sources(sets, merge=True)
    assert [(s.corpora, s.types, len(s)) for s in sources] == [
        (["BC5CDR-chem", "BC5CDR-disease"], ["Chemical", "Disease"], 50),
        (["s800"], ["Species"], 50),
    ]
    chem, disease = sets["BC5CDR-chem"][7]["ner_tags"], sets["BC5CDR-disease"][7]["ner_tags"]
    per_head = head_tags(sources[0].types, sources[0].tags[7], TYPES)
    assert [[("O", "B", "I").index(t) for t in tags] for tags in per_head[:2]] == [chem, disease]
    assert per_head[2:] == [[], []]  # genes and species: no labels from BC5CDR


def test_training_rows_label_only_the_annotated_heads(smollm2_tokenizer):
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.training import TrainConfig
    from modeling_vaner.training.mix import build_eval_rows

    model = per_type_model(smollm2_tokenizer, entity_types=["Chemical", "Disease", "Species"])
    config = TrainConfig(
        corpora=["BC5CDR-chem", "BC5CDR-disease", "s800"], max_eval_sentences=5, max_length=256, heads="per_type"
    )
    rows = build_eval_rows(config, smollm2_tokenizer, model.config)
    labelled_words = torch.zeros(3, dtype=torch.long)
    for row in rows:
        labels = torch.tensor(row["labels"]).view(len(row["input_ids"]), 3)
        instruction = smollm2_tokenizer.decode(row["input_ids"])
        labelled = (labels != -100).any(0).tolist()
        if "BC5CDR" in instruction:
            assert "Chemical or Disease entity is mentioned in the BC5CDR-chem and BC5CDR-disease input" in instruction
            assert labelled == [True, True, False]
        else:
            assert "Species entity is mentioned in the s800 input" in instruction and labelled == [False, False, True]
        labelled_words += (labels != -100).sum(0)
    # every word of the five BC5CDR sentences once for chemicals and once for diseases; s800's once for species
    words = {
        name: sum(len(tokens) for tokens in load_corpus(name, "devel")[:5]["tokens"])
        for name in ("BC5CDR-chem", "s800")
    }
    assert labelled_words.tolist() == [words["BC5CDR-chem"], words["BC5CDR-chem"], words["s800"]]


@pytest.mark.parametrize("share", [1.0, 0.5])
def test_all_type_rows_name_every_type_and_no_dataset_and_label_only_the_annotated_heads(
    smollm2_tokenizer, tmp_path, share
):
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.training import TrainConfig
    from modeling_vaner.training.mix import build_train_rows

    model = per_type_model(smollm2_tokenizer, entity_types=["Chemical", "Disease", "Species"])
    config = TrainConfig(
        output_dir=str(tmp_path), corpora=["BC5CDR-chem", "s800"], heads="per_type", all_types_probability=share
    )
    sets = {name: load_corpus(name, "devel").select(range(20)) for name in config.corpora}
    rows = build_train_rows(config, smollm2_tokenizer, model.config, sets)
    asked = {"all": 0, "dataset": 0}
    for row in rows:
        instruction = smollm2_tokenizer.decode(row["input_ids"])
        labelled = (torch.tensor(row["labels"]).view(len(row["input_ids"]), 3) != -100).any(0).tolist()
        assert labelled in ([True, False, False], [False, False, True])  # the corpus's own head, never another
        if "Chemical, Disease or Species entity is mentioned in the input" in instruction:
            asked["all"] += 1
        else:
            assert " s800 input" in instruction or " BC5CDR-chem input" in instruction
            asked["dataset"] += 1
    assert asked["all"] + asked["dataset"] >= 40  # 40 sentences (a long one takes two windows)
    assert asked["dataset"] == 0 if share == 1.0 else 10 <= asked["dataset"] <= 30

"""Corpus loading on the real shared data, and clear errors on crafted bad files."""

import pytest

from modeling_vaner.corpora import CorpusError, count_mentions, get_corpus, load_corpus, read_conll, register_corpus
from tests.conftest import NAMES, SENTENCE


@pytest.mark.parametrize(
    "name, split, sentences, mentions",
    [("NCBI-disease", "train", 5424, 5134), ("s800", "test", 1630, 767), ("BC2GM", "devel", 2519, 3061)],
)
def test_counts_on_the_shared_corpora(name, split, sentences, mentions):
    dataset = load_corpus(name, split)
    assert len(dataset) == sentences
    assert count_mentions(dataset["ner_tags"]) == mentions
    assert dataset.features["ner_tags"].feature.names == ["O", "B", "I"]
    assert set(dataset["dataset"]) == {name}
    assert set(dataset["entity_type"]) == {get_corpus(name).entity_type}


def test_every_core_corpus_maps_to_its_vaner_type():
    types = {
        name: get_corpus(name).entity_type
        for name in ["BC2GM", "JNLPBA", "BC5CDR-chem", "BC4CHEMD", "NCBI-disease", "BC5CDR-disease", "linnaeus", "s800"]
    }
    assert types == {
        "BC2GM": "Gene",
        "JNLPBA": "Gene",
        "BC5CDR-chem": "Chemical",
        "BC4CHEMD": "Chemical",
        "NCBI-disease": "Disease",
        "BC5CDR-disease": "Disease",
        "linnaeus": "Species",
        "s800": "Species",
    }


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content, message",
    [
        ("Aspirin\tB-Chemical\nworks O\n", r"bad.tsv:2: expected 'word<TAB>tag', found no tab"),
        ("Aspirin\tB-Chemical\nworks\tX\n", r"bad.tsv:2: unknown tag 'X'"),
        ("the\tO\ndrug\tI-Chemical\n", r"bad.tsv:2: I-Chemical follows O; a mention must open with B-"),
        ("a\tB-Gene\nb\tI-Chemical\n", r"bad.tsv:2: I-Chemical follows B-Gene"),
        ("\n\n", r"bad.tsv: no sentences \(empty split\)"),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, content, message):
    with pytest.raises(CorpusError, match=message):
        read_conll(write(tmp_path / "bad.tsv", content))


def test_a_folder_can_be_registered_by_path_and_type(tmp_path):
    for split in ("train", "devel", "test"):
        write(
            tmp_path / f"{split}.tsv",
            "-DOCSTART-\tO\n\nIL-2\tB-protein\nand\tO\nT\tB-cell_type\ncells\tI-cell_type\n\n",
        )
    register_corpus("my-genes", tmp_path, "Gene", labels=("protein",))
    dataset = load_corpus("my-genes", "train")
    assert dataset["tokens"] == [["IL-2", "and", "T", "cells"]]
    assert dataset["ner_tags"] == [[1, 0, 0, 0]]  # cell_type is not a Gene: O
    assert dataset["entity_type"] == ["Gene"]


def test_unknown_corpus_lists_the_known_ones():
    with pytest.raises(CorpusError, match="^GENIA: unknown corpus; known: BC4CHEMD"):
        load_corpus("GENIA", "train")


def test_a_corpus_file_with_a_bad_byte_names_file_and_line(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_bytes(b"Aspirin\tB-Chemical\n\nfoo\tO\nbar\xff\tO\n")
    with pytest.raises(CorpusError, match=r"test.tsv:4: not UTF-8 \(byte 0xff at column 4\)"):
        read_conll(path)


def test_a_known_corpus_given_by_its_folder_is_that_corpus():
    from modeling_vaner.corpora import corpus_names, data_root

    folder = str(data_root() / "NCBI-disease")
    assert corpus_names(folder) == corpus_names(f"{folder}:Disease") == ["NCBI-disease"]


def test_a_datasets_corpus_with_an_empty_token_is_named_not_scored(tmp_path):
    import datasets

    from modeling_vaner.corpora import CorpusError, corpus_names, load_corpus

    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=NAMES)),
        }
    )
    tokens = [list(SENTENCE[0]), [*SENTENCE[0][:2], "", *SENTENCE[0][3:]]]
    split = datasets.Dataset.from_dict({"tokens": tokens, "ner_tags": [SENTENCE[1]] * 2}, features=features)
    datasets.DatasetDict({"test": split}).save_to_disk(str(tmp_path / "hf"))
    with pytest.raises(CorpusError, match=r"\[test\] sentence 2: a token is empty or holds white space"):
        for name in corpus_names(str(tmp_path / "hf")):
            load_corpus(name, "test")


def test_a_datasets_corpus_with_one_label_per_sentence_is_named_not_a_traceback(tmp_path):
    import datasets

    from modeling_vaner.corpora import CorpusError, get_corpus, load_corpus

    features = datasets.Features(
        {"tokens": datasets.Sequence(datasets.Value("string")), "ner_tags": datasets.ClassLabel(names=NAMES)}
    )
    split = datasets.Dataset.from_dict({"tokens": [SENTENCE[0]], "ner_tags": [1]}, features=features)
    datasets.DatasetDict({"test": split}).save_to_disk(str(tmp_path / "hf"))
    with pytest.raises(CorpusError, match=r"\[test\]: ner_tags must be a list of ClassLabel ids .* one per token"):
        load_corpus(get_corpus(f"{tmp_path / 'hf'}:Chemical").name, "test")

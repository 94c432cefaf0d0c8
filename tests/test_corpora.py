"""Corpus loading on the real shared data, and clear errors on crafted bad files."""

import pytest

from modeling_vaner.corpora import CorpusError, count_mentions, get_corpus, load_corpus, read_conll, register_corpus


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

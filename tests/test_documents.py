"""Document corpora (PubTator): reading with offset errors reported, type maps, character-level scoring, the
harness row and the training views."""

import json
from pathlib import Path

import pytest

from harness.documents import match_mentions, score_mentions
from modeling_vaner.documents import DocumentCorpusError, document_corpus, scored_types, sentence_tags

TITLE = "BRCA1 and aspirin in breast cancer."
ABSTRACT = "Mice lacking BRCA1 developed breast cancer after aspirin."


def pubtator(doc_id: str, annotations: list[str], relations: tuple[str, ...] = ()) -> str:
    return "\n".join([f"{doc_id}|t|{TITLE}", f"{doc_id}|a|{ABSTRACT}", *annotations, *relations]) + "\n\n"


def mention(doc_id, text, corpus_type, start=None, occurrence=0) -> str:
    whole = f"{TITLE} {ABSTRACT}"
    if start is None:
        start = -1
        for _ in range(occurrence + 1):
            start = whole.index(text, start + 1)
    return f"{doc_id}\t{start}\t{start + len(text)}\t{text}\t{corpus_type}\tID:1"


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    """Train (CRLF line endings, a relation line) and test (an offset error, an unknown type, overlapping mentions
    of two types: `breast cancer` Disease inside nothing, `BRCA1` Gene, and a Disease over `BRCA1 and aspirin`)."""
    folder = tmp_path / "mycorpus"
    folder.mkdir()
    train = pubtator(
        "1",
        [mention("1", "BRCA1", "GeneOrGeneProduct"), mention("1", "breast cancer", "DiseaseOrPhenotypicFeature")],
        relations=("1\tAssociation\tID:1\tID:2\tNovel",),
    )
    (folder / "Train.PubTator").write_bytes(train.replace("\n", "\r\n").encode())
    test = pubtator(
        "2",
        [
            mention("2", "BRCA1", "Gene"),
            mention("2", "BRCA1 and aspirin", "Disease"),  # overlaps the Gene mention
            mention("2", "aspirin", "FamilyName"),  # a type with no VANER type
            "2\t13\t20\tbreast\tDisease\tID:9",  # offsets that read 'irin in', not 'breast'
            mention("2", "breast cancer", "Disease", occurrence=1),
        ],
    )
    (folder / "test.pubtator").write_text(test)
    return folder


def test_a_folder_reads_with_offset_errors_reported_and_unknown_types_kept_apart(corpus_dir):
    corpus = document_corpus(str(corpus_dir))
    train, test = corpus.read("train"), corpus.read("test")
    assert train.documents[0].text == f"{TITLE} {ABSTRACT}"  # CRLF read as LF
    assert [e["type"] for e in train.documents[0].entities] == ["Gene", "Disease"]
    assert train.documents[0].relations == ["1\tAssociation\tID:1\tID:2\tNovel"]
    [(where, problem)] = test.offset_problems
    assert where == f"{corpus_dir / 'test.pubtator'}:6" and "reads 'irin in'" in problem
    assert test.not_scored == {"FamilyName": 1}
    kept = [(e["text"], e["type"]) for e in test.documents[0].entities]
    assert kept == [("BRCA1", "Gene"), ("BRCA1 and aspirin", "Disease"), ("breast cancer", "Disease")]
    assert scored_types(test, ["Chemical", "Disease", "Species"]) == (["Disease"], {"FamilyName": 1, "Gene": 1})
    with pytest.raises(DocumentCorpusError, match="no devel split"):
        corpus.read("devel")


def test_a_type_map_given_with_the_folder_scores_a_name_as_a_type(corpus_dir):
    corpus = document_corpus(f"{corpus_dir}:FamilyName=Chemical,Disease=")
    test = corpus.read("test")
    assert sorted(test.mention_counts().items()) == [("Chemical", 1), ("Gene", 1)]
    assert test.not_scored == {"Disease": 2}
    with pytest.raises(DocumentCorpusError, match="expected Name=Type pairs"):
        document_corpus(f"{corpus_dir}:FamilyName=Chemical,Gene")


def test_strict_needs_both_offsets_relaxed_one_character_each_and_matches_are_one_to_one():
    gold = [(0, 0, 5, "Gene"), (0, 10, 17, "Gene"), (1, 0, 5, "Gene")]
    assert match_mentions(gold, [(0, 0, 6, "Gene")], 0) == 0
    assert match_mentions(gold, [(0, 0, 6, "Gene")], 1) == 1
    assert match_mentions(gold, [(0, 0, 7, "Gene")], 1) == 0  # two characters off
    assert match_mentions(gold, [(0, 0, 5, "Disease")], 1) == 0  # another type
    assert match_mentions(gold, [(0, 0, 5, "Gene"), (0, 0, 6, "Gene")], 1) == 1  # one gold, matched once
    scores = score_mentions(gold, [(0, 0, 5, "Gene"), (0, 11, 17, "Gene"), (1, 20, 25, "Gene")], ["Gene"])
    assert scores["per_type"]["Gene"]["strict"]["precision"] == pytest.approx(1 / 3)
    assert scores["relaxed"]["recall"] == pytest.approx(2 / 3) and scores["gold_entities"] == 3


def test_training_sentences_are_the_taggers_with_a_tag_column_per_type(corpus_dir):
    [document] = document_corpus(str(corpus_dir)).read("train").documents
    sentences = sentence_tags(document, ["Gene", "Disease"])
    assert [words for words, _ in sentences] == [
        ["BRCA1", "and", "aspirin", "in", "breast", "cancer", "."],
        ["Mice", "lacking", "BRCA1", "developed", "breast", "cancer", "after", "aspirin", "."],
    ]
    assert sentences[0][1] == [["B", "O", "O", "O", "O", "O", "O"], ["O", "O", "O", "O", "B", "I", "O"]]


def test_a_pubtator_folder_trains_the_heads_of_its_types_over_the_same_sentences(corpus_dir):
    from modeling_vaner.corpora import document_views, get_corpus, load_corpus
    from modeling_vaner.training.mix import corpus_sources

    views = document_views(str(corpus_dir))
    assert views == [f"{corpus_dir}:Disease", f"{corpus_dir}:Gene"]
    assert {get_corpus(view).guidelines for view in views} == {"mycorpus"}
    [source] = corpus_sources({view: load_corpus(view, "train") for view in views}, merge=True)
    assert source.types == ["Disease", "Gene"] and len(source) == 2
    assert source.tags[0] == [["O", "O", "O", "O", "B", "I", "O"], ["B", "O", "O", "O", "O", "O", "O"]]


def test_vaner_eval_scores_a_document_folder_per_type_into_a_results_file(corpus_dir, tiny_vaner_dir, tmp_path):
    from harness.results import read_results
    from modeling_vaner.commands.cli import main

    output = tmp_path / "results.json"
    code = main(["eval", "--model", str(tiny_vaner_dir), "--datasets", str(corpus_dir), "--output", str(output)])
    assert code == 0
    [row] = read_results(output)["results"]
    assert row["level"] == "document" and row["documents"] == 1 and row["entity_type"] == "Disease,Gene"
    assert row["per_type"]["Disease"]["gold"] == 2 and row["per_type"]["Gene"]["gold"] == 1
    assert row["not_scored"] == {"FamilyName": 1} and len(row["offset_problems"]) == 1
    assert 0 <= row["relaxed"]["f1"] <= 1 and row["relaxed"]["f1"] >= row["strict"]["f1"]
    assert row["tidy_mentions"] and row["untidied"]["changed_mentions"] >= 0
    assert row["untidied"]["strict"]["f1"] <= row["untidied"]["relaxed"]["f1"]
    assert "| Disease |" in (tmp_path / "results.md").read_text()
    schema_3 = json.loads(output.read_text())
    assert schema_3["schema_version"] == 3

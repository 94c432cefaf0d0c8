"""Entity linking: the normalisation rules, abbreviations, the shipped index (offline, fast to load), accuracy@1 by
hand, file:line errors for bad vocabularies, and `vaner predict --link`."""

import gzip
import json
import shutil
import subprocess
import sys

import pytest

from harness.linking import accuracy_at_1, is_correct, render_linking_markdown
from modeling_vaner.commands.cli import main
from modeling_vaner.linking import INDEX_DIR, Linker, VocabularyError
from modeling_vaner.linking.index import TypeIndex, load_index
from modeling_vaner.linking.names import abbreviations, normalize, singular, variants
from modeling_vaner.linking.vocabularies import canonical_id, read_kb_tsv, read_medic, read_mesh_terms
from tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    "name, key",
    [
        ("Alzheimer's-Disease", "alzheimer s disease"),
        ("TNF-α", "tnf alpha"),
        ("  Breast   CANCER ", "breast cancer"),
        ("Sjögren syndrome", "sjogren syndrome"),
        ("IL-2/IL-4", "il 2 il 4"),
        ("β-catenin", "beta catenin"),
    ],
)
def test_normalisation_folds_case_punctuation_greek_and_accents(name, key):
    assert normalize(name) == key


def test_variants_add_singulars_and_read_inverted_names_in_order():
    assert variants("Leukemia, Myeloid") == ["leukemia myeloid", "myeloid leukemia"]
    assert variants("breast cancers") == ["breast cancers", "breast cancer"]
    assert singular("allergies") == "allergy" and singular("viruses") == "virus" and singular("aids") == "aids"
    assert singular("diagnosis") == "diagnosis"  # -is is not a plural


def test_abbreviations_follow_schwartz_hearst():
    text = (
        "Cisplatin-induced nephrotoxicity (CIN) and heart failure (HF) were studied in 12 patients (n = 12); "
        "tumour necrosis factor alpha (TNF-alpha) rose, but not in controls (p < 0.05)."
    )
    assert abbreviations(text) == {
        "CIN": "Cisplatin-induced nephrotoxicity",
        "HF": "heart failure",
        "TNF-alpha": "tumour necrosis factor alpha",
    }
    assert abbreviations("We saw nothing (none).") == {}  # no long form whose letters spell it


def test_ids_have_one_spelling():
    assert [canonical_id(raw, "OMIM") for raw in ("D012559", " MESH:D012559", "181500", "OMIM:181500")] == [
        "MESH:D012559",
        "MESH:D012559",
        "OMIM:181500",
        "OMIM:181500",
    ]
    assert canonical_id("species:ncbi:9606") == "NCBITaxon:9606"


def tiny_index():
    concepts = [
        (["MESH:D001943", "OMIM:114480"], "Breast Neoplasms"),
        (["MESH:D007674"], "Kidney Diseases"),
        (["MESH:D003920"], "Diabetes Mellitus"),
    ]
    names = {}
    for index, (ids, name) in enumerate(concepts):
        for synonym in {
            0: ["breast cancer", "Breast Neoplasms"],
            1: ["kidney disease", "nephrotoxicity"],
            2: ["diabetes mellitus", "diabetes"],
        }[index]:
            names.setdefault(normalize(synonym), []).append(index)
    return TypeIndex("Disease", concepts, names, [0, 0, 0], ["hand-made"], threshold=0.5, vocabulary_size=3)


def test_the_linker_uses_exact_names_then_abbreviations_then_tfidf():
    linker = Linker({"Disease": tiny_index()})
    text = "Patients with kidney disease (KD) worsened; KD and breast cancers and diabetis were seen."
    entities = [
        {"text": "breast cancers", "type": "Disease"},
        {"text": "KD", "type": "Disease"},
        {"text": "diabetis", "type": "Disease"},
        {"text": "zzz qqq", "type": "Disease"},
        {"text": "aspirin", "type": "Chemical"},
    ]
    linked = linker.link(text, entities)
    assert [(e["id"], e["link_method"]) for e in linked] == [
        ("MESH:D001943", "exact"),  # plural folded; the MeSH id first
        ("MESH:D007674", "abbreviation"),  # KD: defined in the text as "kidney disease"
        ("MESH:D003920", "tfidf"),
        (None, None),
        (None, None),
    ]  # a typo; nothing near; no Chemical index
    assert linked[0]["name"] == "Breast Neoplasms" and linked[0]["link_score"] == 1.0
    assert 0.5 <= linked[2]["link_score"] < 1.0 and linked[3]["link_score"] < 0.5  # below the threshold: unlinked


def test_accuracy_at_1_by_hand(tmp_path, monkeypatch):
    # Four gold mentions: two linked right, one wrong, one composite (a known miss) -> 2/4.
    gold = tmp_path / "ncbi_disease"
    gold.mkdir()
    (gold / "NCBItestset_corpus.txt").write_text(
        "1|t|Breast cancer and diabetes.\n1|a|Kidney disease; breast and ovarian cancer.\n"
        "1\t0\t13\tBreast cancer\tSpecificDisease\tD001943\n"
        "1\t18\t26\tdiabetes\tSpecificDisease\tD003920\n"
        "1\t28\t42\tKidney disease\tDiseaseClass\tD001943\n"
        "1\t44\t69\tbreast and ovarian cancer\tCompositeMention\tD001943|D010051\n\n"
    )
    result = accuracy_at_1(Linker({"Disease": tiny_index()}), "NCBI-disease", "Disease", "test", tmp_path)
    assert (result["mentions"], result["correct"], result["composite"]) == (4, 2, 1)
    assert result["accuracy"] == 0.5 and result["coverage"] == 0.75  # D010051 is not in the vocabulary
    assert is_correct({"ids": ["MESH:D001943", "OMIM:114480"]}, ["OMIM:114480"])
    table = render_linking_markdown([{"model": "tiny", "results": [result]}])
    assert "| tiny | 50.00 |" in table


def test_bad_vocabulary_files_name_file_and_line(tmp_path):
    medic = tmp_path / "medic.txt"
    medic.write_text("D012559|181500||Schizophrenia|Dementia Praecox\nno separator here\n")
    with pytest.raises(VocabularyError, match=r"medic.txt:2: expected 'ID\[\|altID\]\|\|name"):
        list(read_medic(medic))
    kb = tmp_path / "kb.tsv"
    kb.write_text("name\ttype\tsource_id\nBRCA1\tGene/Protein\tHGNC:1100\nBRCA2\tGene\n")
    with pytest.raises(VocabularyError, match=r"kb.tsv:3: expected 'name<TAB>type<TAB>PREFIX:id'"):
        list(read_kb_tsv(kb))
    mesh = tmp_path / "mesh.tsv"
    mesh.write_text("wrong header\n")
    with pytest.raises(VocabularyError, match=r"mesh.tsv:1: expected the header"):
        list(read_mesh_terms(mesh, ("D",)))
    with pytest.raises(VocabularyError, match="no such file"):
        list(read_kb_tsv(tmp_path / "missing.tsv"))
    (tmp_path / "bytes.tsv").write_bytes(b"name\ttype\tsource_id\nX\xff\tGene\tHGNC:1\n")
    with pytest.raises(VocabularyError, match=r"bytes.tsv:2: not UTF-8"):
        list(read_kb_tsv(tmp_path / "bytes.tsv"))


def test_the_shipped_index_round_trips_and_loads_without_building_or_reading_shared_data(tmp_path):
    """Loading reads the shipped index and nothing else: no index is built (`build_type_index` would), no file of
    ../shared is opened (an audit hook sees every open). Its speed is a benchmark's business, not a test's."""
    code = (
        f"import sys; sys.path.insert(0, {str(REPO_ROOT)!r}); opened = [];"
        "sys.addaudithook(lambda event, args: event == 'open' and isinstance(args[0], str) and opened.append(args[0]));"
        "import modeling_vaner.linking.index as index;"
        "index.build_type_index = lambda *a, **k: sys.exit('the index was built at load');"
        "from modeling_vaner.linking import Linker; linker = Linker.load();"
        "print(sorted({p for p in opened if 'shared' in p.split('/')}));"
        "print(linker.link_mention('aspirin', 'Chemical')['id'], linker.link_mention('breast cancer', 'Disease')['id'])"
    )
    # VANER_DATA points at an empty folder: nothing of ../shared/data is read.
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        check=False,
        text=True,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "VANER_DATA": str(tmp_path / "nothing")},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    shared_files, ids = result.stdout.splitlines()
    assert shared_files == "[]"
    assert ids == "MESH:D001241 MESH:D001943"
    indexes = load_index(INDEX_DIR)
    saved = indexes["Species"].save(tmp_path / "copy")
    again = TypeIndex.load(saved)
    assert again.names == indexes["Species"].names and again.concepts == indexes["Species"].concepts
    assert (
        again.threshold == indexes["Species"].threshold and again.vocabulary_size == indexes["Species"].vocabulary_size
    )


@pytest.mark.backbone
def test_predict_link_gives_mesh_ids_for_the_fixed_sentence():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modeling_vaner.commands.cli",
            "predict",
            "--link",
            "Aspirin lowered the risk of breast cancer in BRCA1 carriers.",
        ],
        capture_output=True,
        check=False,
        text=True,
        cwd=REPO_ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    entities = {e["text"]: e for e in json.loads(result.stdout)["entities"]}
    assert entities["Aspirin"]["id"] == "MESH:D001241" and entities["breast cancer"]["id"] == "MESH:D001943"
    assert entities["breast cancer"]["name"] == "Breast Neoplasms" and entities["Aspirin"]["link_score"] == 1.0


def test_end_to_end_mention_and_id_scores_by_hand(tmp_path, monkeypatch):
    from harness.linking import end_to_end

    (tmp_path / "linking" / "bc5cdr").mkdir(parents=True)
    (tmp_path / "linking" / "bc5cdr" / "CDR_TestSet.PubTator.txt").write_text(
        "7|t|Breast cancer and diabetes.\n7|a|Kidney disease.\n"
        "7\t0\t13\tBreast cancer\tDisease\tD001943\n7\t18\t26\tdiabetes\tDisease\tD003920\n"
        "7\t28\t42\tKidney disease\tDisease\tD007674\n7\tCID\tD000000\tD001943\n\n"
    )
    monkeypatch.setenv("VANER_DATA", str(tmp_path / "bioner"))

    def tagger(texts, types, dataset, batch_size):  # finds breast cancer, diabetes (one word short) and "and"
        if types == ["Chemical"]:
            return [[] for _ in texts]
        return [
            [
                {"start": 0, "end": 13, "text": "Breast cancer", "type": "Disease"},
                {"start": 18, "end": 25, "text": "diabete", "type": "Disease"},
                {"start": 14, "end": 17, "text": "and", "type": "Disease"},
            ]
            for _ in texts
        ]

    result = end_to_end(tagger, Linker({"Disease": tiny_index()}), split="test")
    # gold 3; predicted 3; right: breast cancer only (diabetes has the wrong span, "and" is no mention) -> 1/3, 1/3
    assert (result["gold"], result["predicted"], result["correct"]) == (3, 3, 1)
    assert result["precision"] == pytest.approx(1 / 3) and result["recall"] == pytest.approx(1 / 3)


def test_junk_mentions_are_never_linked_by_their_own_letters_in_the_shipped_index():
    linker, text = Linker.load(), "MM, xxx, aaaa, 12 and e were seen."
    junk = [("MM", "Disease"), ("xxx", "Chemical"), ("aaaa", "Gene"), ("12", "Chemical"), ("e", "Species")]
    entities = [{"start": text.index(m), "end": text.index(m) + len(m), "text": m, "type": t} for m, t in junk]
    assert [e["id"] for e in linker.link(text, entities)] == [None] * len(junk)  # nothing by the letters of junk
    text = "Multiple myeloma (MM) was seen; MM recurred."  # the long form the document defines links it
    [mention] = linker.link(text, [{"start": 32, "end": 34, "text": "MM", "type": "Disease"}])
    assert mention["link_method"] == "abbreviation" and mention["name"] == "Multiple Myeloma"


def test_a_corrupt_linking_index_is_named_everywhere(tmp_path, capsys, monkeypatch, tiny_vaner_dir):
    from modeling_vaner.linking import INDEX_DIR, index

    broken = tmp_path / "index"
    shutil.copytree(INDEX_DIR, broken)
    gene = broken / "gene.json.gz"
    gene.write_bytes(gene.read_bytes()[:5000])
    (broken / "species.json.gz").write_bytes(gzip.compress(b'{"entity_type": "Species"}'))
    assert main(["eval", "--linking", "--index", str(broken), "--output", str(tmp_path / "l.json")]) == 2
    error = capsys.readouterr().err
    assert "linking index" in error and "gene.json.gz is truncated or corrupt" in error and "vaner link-index" in error
    with pytest.raises(index.IndexFileError, match="species.json.gz is truncated or corrupt \\(no 'concepts'\\)"):
        index.TypeIndex.load(broken / "species.json.gz")
    monkeypatch.setattr(index, "INDEX_DIR", broken)
    assert main(["predict", "--model", str(tiny_vaner_dir), "--link", "x"]) == 2
    assert "gene.json.gz is truncated or corrupt" in capsys.readouterr().err
    import space.app

    with pytest.raises(index.IndexFileError):
        space.app.load_linker()


def test_link_index_swaps_in_only_a_whole_index(tmp_path, monkeypatch, capsys):
    from modeling_vaner.commands import link_index as build
    from modeling_vaner.linking import index

    output = tmp_path / "index"
    output.mkdir()
    (output / "disease.json.gz").write_bytes(b"previous")
    assert main(["link-index", "--data", str(tmp_path / "nothing"), "--output", str(output)]) == 2
    assert "kb: no such folder" in capsys.readouterr().err

    real = build.build_type_index

    def failing(entity_type, *args, **kwargs):
        if entity_type == "Gene":
            raise build.VocabularyError("hgnc.tsv:3: planted failure")
        return real(entity_type, *args, **kwargs)

    import harness.linking
    from modeling_vaner.corpora import data_root

    monkeypatch.setattr(build, "build_type_index", failing)
    monkeypatch.setattr(harness.linking, "choose_threshold", lambda *args: 0.5)
    assert main(["link-index", "--data", str(data_root().parent), "--output", str(output)]) == 2
    assert "planted failure" in capsys.readouterr().err
    assert sorted(p.name for p in output.iterdir()) == ["disease.json.gz"]  # the previous index, whole
    assert (output / "disease.json.gz").read_bytes() == b"previous"
    assert not list(tmp_path.glob(".index-*"))
    monkeypatch.setattr(
        build,
        "build_type_index",
        lambda entity_type, *args, **kwargs: index.TypeIndex(entity_type, [(["X:1"], "x")], {"x": [0]}, [0]),
    )
    assert main(["link-index", "--data", str(data_root().parent), "--output", str(output)]) == 0
    assert sorted(p.name for p in output.iterdir()) == [f"{t.lower()}.json.gz" for t in index.ENTITY_TYPES]
    assert index.TypeIndex.load(output / "disease.json.gz").concepts == [(["X:1"], "x")]


def test_linking_gives_junk_no_confident_id():
    from modeling_vaner.linking import Linker

    linker = Linker.load()
    for mention, entity_type in [
        ("e", "Chemical"),
        ("a", "Species"),
        ("x", "Gene"),
        ("1", "Disease"),
        ("x" * 500, "Disease"),
        ("2.5", "Chemical"),
    ]:
        assert linker.link_mention(mention, entity_type)["id"] is None, mention
    assert linker.link_mention("aspirin", "Chemical")["id"] == "MESH:D001241"  # real names still link
    assert linker.link_mention("p53", "Gene")["id"] is not None

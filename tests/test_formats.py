"""Documents in and out (`formats.py`, `bioc_files.py`): PubTator with byte-order marks, tabs and checked
annotations, and any bytes read to a result or to an error naming file and line."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling_vaner.corpora import CorpusError, read_conll
from modeling_vaner.formats import InputError, read_documents


def test_pubtator_bom_tabs_and_checked_annotations(tmp_path):
    from modeling_vaner.formats import Document, InputError, pubtator_block, read_documents

    path = tmp_path / "in.txt"
    path.write_bytes("\ufeff7|t|Aspirin and cancer\n7|a|More text.\n7\t0\t7\tAspirin\tChemical\n\n".encode())
    [document] = read_documents(path)
    assert document.id == "7" and document.entities[0]["text"] == "Aspirin"

    tabbed = Document(
        id="8",
        text="Title with\ttab",
        title_length=14,
        entities=[{"start": 6, "end": 14, "text": "with\ttab", "type": "Disease"}],
    )
    path.write_text(pubtator_block(tabbed))
    [back] = read_documents(path, "pubtator")
    assert back.entities == [{"start": 6, "end": 14, "text": "with tab", "type": "Disease"}]

    for line, message in [
        ("9\t0\t7\tAspirin\tChemical", r"in.txt:3: annotation of document '9' inside document '7'"),
        ("7\t5\t90\tAspirin\tChemical", r"in.txt:3: annotation 5-90 lies outside"),
        ("7\t7\t7\tAspirin\tChemical", r"in.txt:3: annotation 7-7 lies outside"),
    ]:
        path.write_text(f"7|t|Aspirin and cancer\n7|a|x\n{line}\n\n")
        with pytest.raises(InputError, match=message):
            list(read_documents(path))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_readers_take_any_bytes_to_a_result_or_an_error_naming_file_and_line(tmp_path, data):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    for reader in (
        lambda: list(read_documents(path, "text")),
        lambda: list(read_documents(path, "pubtator")),
        lambda: read_conll(path),
    ):
        try:
            reader()
        except (InputError, CorpusError) as error:
            assert str(error).startswith(str(path)), error
            line = str(error)[len(str(path)) :]
            assert line.startswith(":") or "no sentences" in line, error

"""The Gradio Space, launched on 127.0.0.1: through gradio_client, and in a real browser (Debian's Chromium)."""

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, TWO_SENTENCES, run_python
from tests.local_hub import free_port, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ABSTRACT = (
    "Cisplatin is widely used against solid tumours, but nephrotoxicity limits its dose. We studied 40 rats "
    "given cisplatin with or without aspirin. Acute renal failure developed in 12 animals, and expression of "
    "the BRCA1 and TP53 genes in kidney tissue rose. Escherichia coli infection was excluded in all animals. "
) * 3


def visible_text(highlighted: str) -> str:
    """The highlighted text as a reader sees it (below the legend), marks and all."""
    return html.unescape(re.sub(r"<[^>]+>", "", highlighted.split('<div class="vaner-text"', 1)[1].split(">", 1)[1]))


@pytest.fixture(scope="module")
def space_url(tiny_vaner_dir, tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("space") / "space.log"
    env = {**os.environ, "VANER_MODEL": str(tiny_vaner_dir), "GRADIO_ANALYTICS_ENABLED": "False"}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modeling_vaner.commands.cli", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(port, process, log, seconds=120, health="/")
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def client(space_url):
    from gradio_client import Client

    return Client(space_url, verbose=False)


def test_a_sentence_returns_entities_with_matching_offsets(client):
    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers."
    highlighted, table, download, status = client.predict(
        text, ["Chemical", "Disease"], "NCBI-disease", api_name="/tag"
    )
    assert table["data"], status
    for entity_text, entity_type, start, end, score, concept_id, concept in table["data"]:
        assert concept_id == "" or (":" in concept_id and concept)  # linked: an id with its concept's name
        assert text[start:end] == entity_text and entity_type in ("Chemical", "Disease") and 0 < score <= 1
    # The highlighted text is the input, once, whatever overlaps between types; every mark is a table row, and
    # hovering it tells its type and score.
    assert visible_text(highlighted) == text
    rows = {(row[0], row[1]): row[4] for row in table["data"]}
    mark = r'<mark class="vaner-entity" data-type="(\w+)" title="(\w+), score ([\d.]+)[^"]*"[^>]*>([^<]*)</mark>'
    marks = [
        (kind, title, float(score), html.unescape(word)) for kind, title, score, word in re.findall(mark, highlighted)
    ]
    assert marks and all(
        kind == title and (word, kind) in rows and abs(score - rows[word, kind]) < 0.006
        for kind, title, score, word in marks
    )
    assert Path(download).read_text().count('"start"') == len(table["data"])
    # The slider: only the mentions scored at least its value, in the table and the download.
    lowest, next_lowest = sorted({row[4] for row in table["data"]})[:2]
    least = (lowest + next_lowest) / 2
    _, surer, download, _ = client.predict(text, ["Chemical", "Disease"], "NCBI-disease", least, api_name="/tag")
    assert surer["data"] == [row for row in table["data"] if row[4] > least] and surer["data"]
    assert Path(download).read_text().count('"start"') == len(surer["data"])


def test_empty_and_oversized_inputs_get_friendly_messages(client):
    from space.app import EMPTY_MESSAGE, MAX_CHARACTERS, TOO_LONG_MESSAGE

    assert client.predict("   ", ["Gene"], "adaptive (no dataset guidelines)", api_name="/tag")[3] == EMPTY_MESSAGE
    long_text = "BRCA1 " * (MAX_CHARACTERS // 6 + 10)
    assert (
        client.predict(long_text, ["Gene"], "adaptive (no dataset guidelines)", api_name="/tag")[3] == TOO_LONG_MESSAGE
    )


def test_four_concurrent_requests_all_succeed(client, space_url):
    from gradio_client import Client

    texts = [f"Patient {i} received cisplatin and developed nephrotoxicity." for i in range(4)]

    def ask(text):
        return Client(space_url, verbose=False).predict(
            text, ["Chemical", "Disease"], "adaptive (no dataset guidelines)", api_name="/tag"
        )

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(ask, texts))
    for text, (highlighted, table, _, status) in zip(texts, results):
        assert visible_text(highlighted) == text and " entities, 2 types" in status
        assert all(text[row[2] : row[3]] == row[0] for row in table["data"])


def launch_chromium(playwright):
    """Debian's Chromium, headless, with nothing that reaches the network."""
    assert Path(CHROMIUM).is_file(), "Debian's chromium is needed: apt-get install chromium (make test does it)"
    flags = ("no-sandbox", "disable-gpu", "disable-background-networking", "disable-component-update", "disable-sync")
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=[f"--{flag}" for flag in (*flags, "no-first-run", "disable-quic")]
    )


def test_a_hostile_type_name_or_concept_is_text_in_the_browser_not_markup():
    from playwright.sync_api import sync_playwright

    from space.app import highlight_html

    hostile = '<img src=x onerror="window.pwned = 1">'
    concept = '"><script>window.pwned = 2</script>'
    text = "Aspirin <b>lowers</b> pain."
    shown = [{"start": 0, "end": 7, "type": hostile, "score": 0.9, "id": "MESH:D001241", "name": concept}]
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        dialogs = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.set_content(f"<html><body>{highlight_html(text, shown, ['Chemical', hostile])}</body></html>")
        page.wait_for_timeout(300)  # an <img onerror> would have fired by now
        ran = page.evaluate("window.pwned")
        legend = page.locator(".vaner-legend").all_inner_texts()
        mark = page.locator("mark.vaner-entity")
        seen = (mark.get_attribute("data-type"), mark.get_attribute("title"), page.locator(".vaner-text").inner_text())
        elements = page.locator("img, script, b").count()
        browser.close()
    assert ran is None and not dialogs and elements == 0
    assert legend == ["Chemical", hostile]
    assert seen == (hostile, f"{hostile}, score 0.90, MESH:D001241 {concept}", text)


def test_a_browser_types_an_abstract_and_sees_highlighted_entities(space_url, tmp_path):
    assert Path(CHROMIUM).is_file(), "Debian's chromium is needed: apt-get install chromium (make test does it)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(space_url)
        page.locator("#vaner-text textarea").fill(ABSTRACT)
        started = time.perf_counter()
        page.locator("#vaner-submit").click()
        page.locator("#vaner-status").get_by_text("entities,").wait_for(timeout=120_000)
        seconds = time.perf_counter() - started
        marks = page.locator("#vaner-highlighted mark")
        assert marks.count() > 0
        legend = page.locator("#vaner-highlighted .vaner-legend")
        assert [legend.nth(i).inner_text() for i in range(legend.count())] == ["Chemical", "Disease", "Gene", "Species"]
        legend_colours = {
            legend.nth(i).inner_text(): legend.nth(i).evaluate("e => getComputedStyle(e).backgroundColor")
            for i in range(legend.count())
        }
        for i in range(min(marks.count(), 20)):
            mark = marks.nth(i)
            assert mark.inner_text().strip() in ABSTRACT
            kind = mark.get_attribute("data-type")
            assert mark.evaluate("e => getComputedStyle(e).backgroundColor") == legend_colours[kind]
            assert re.fullmatch(rf"{kind}, score [01]\.\d\d(, .+)?", mark.get_attribute("title"))  # on hover
        # At 1280 px every column of the entity table, id and concept included, is in view.
        for header in ("text", "type", "score", "id", "concept"):
            box = page.locator("#vaner-table thead th").filter(has_text=header).first.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 1280, (header, box)
        screenshot = Path(os.environ.get("VANER_SCREENSHOT_DIR", tmp_path)) / "space.png"
        page.screenshot(path=str(screenshot), full_page=True)
        # At a phone's 390 px the page does not overflow; the table scrolls sideways to its last column.
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        viewport = page.locator("#vaner-table .virtual-table-viewport").first
        viewport.evaluate("e => { e.scrollLeft = e.scrollWidth }")
        box = page.locator("#vaner-table thead th").filter(has_text="concept").first.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
        browser.close()
    assert screenshot.stat().st_size > 10_000
    print(f"submit -> highlighted: {seconds:.2f} s for {len(ABSTRACT.split())} words; screenshot {screenshot}")


def test_the_space_card_names_the_model_the_app_loads_and_no_placeholder():
    import yaml

    from space.app import HUB_MODEL

    card = (REPO_ROOT / "space" / "README.md").read_text()
    metadata = yaml.safe_load(card.split("---")[1])
    assert metadata["models"] == [HUB_MODEL] and HUB_MODEL in card.split("---", 2)[2]
    assert not re.search(r"\]\(https?://[^)/]+/?\)", card)  # no link to a bare host standing in for a real page


def test_on_the_hub_the_app_runs_on_the_models_remote_code_alone(tiny_vaner_dir, tmp_path):
    code = f"""
import importlib.util, json, os, sys
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
sys.modules["modeling_vaner"] = None  # as on a Space: the package is not installed (an editable install would be)
os.chdir({str(tmp_path)!r})
spec = importlib.util.spec_from_file_location("app", {str(REPO_ROOT / "space" / "app.py")!r})
app = importlib.util.module_from_spec(spec)
spec.loader.exec_module(app)
tag, config, processing = app.load_tagger({str(tiny_vaner_dir)!r}, "cpu")
entities = tag("Aspirin lowered the risk of breast cancer.", ["Chemical", "Disease"], None)
print(json.dumps({{"package": sys.modules["modeling_vaner"] is not None, "module": processing.__name__,
                  "entities": len(entities), "shown": processing.non_overlapping(entities)}}))
"""
    out = json.loads(
        run_python(code, env={"HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "m")}).splitlines()[-1]
    )
    assert not out["package"] and out["module"].startswith("transformers_modules.")
    assert out["entities"] > len(out["shown"]) > 0  # both types tagged; overlaps shown once
    spans = [(e["start"], e["end"]) for e in out["shown"]]
    assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_the_hover_title_names_the_concept_of_a_linked_mention_and_nothing_for_an_unlinked_one():
    from space.app import highlight_html

    text = "Aspirin eased fever."
    aspirin = {"start": 0, "end": 7, "type": "Chemical", "score": 0.981, "id": "MESH:D001241", "name": "Aspirin"}
    fever = {"start": 14, "end": 19, "type": "Disease", "score": 0.914, "id": None, "ids": [], "name": None}
    titles = re.findall(r'title="([^"]*)"', highlight_html(text, [aspirin, fever], ["Chemical", "Disease"]))
    assert titles == ["Chemical, score 0.98, MESH:D001241 Aspirin", "Disease, score 0.91"]


def test_the_examples_come_from_the_corpora_folder_the_package_reads(tmp_path, monkeypatch):
    from space.app import real_examples

    sentence = "Mutations in the BRCA1 gene raise the risk of breast and ovarian cancer in women of many ages ."
    (tmp_path / "NCBI-disease").mkdir()
    (tmp_path / "NCBI-disease" / "test.tsv").write_text("".join(f"{word}\tO\n" for word in sentence.split()) + "\n")
    monkeypatch.setenv("VANER_DATA", str(tmp_path))
    assert real_examples() == [sentence.removesuffix(" .") + "."]


def test_serve_shows_the_models_name_and_leaves_no_folder_per_request(tiny_vaner_dir, tmp_path, monkeypatch):
    import tempfile

    import space.app

    shutil.copy(REPO_ROOT / "modeling_vaner" / "default_model" / "results.json", tiny_vaner_dir / "results.json")
    try:
        assert space.app.default_results(str(tiny_vaner_dir)) == str(tiny_vaner_dir / "results.json")
        note = space.app.model_note(None, space.app.default_results(str(tiny_vaner_dir)), str(tiny_vaner_dir))
        assert f"`{tiny_vaner_dir}`" in note and "NCBI-disease" in note and "default model" not in note
    finally:
        (tiny_vaner_dir / "results.json").unlink()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    app = space.app.build_app(str(tiny_vaner_dir))
    run = next(f.fn for f in app.fns.values() if getattr(f, "api_name", None) == "tag")
    for text in ("Aspirin causes cancer.", "BRCA1 in mice.", "Aspirin causes cancer."):
        run(text, ["Chemical", "Gene"], space.app.ADAPTIVE)
    folders = [p.name for p in tmp_path.iterdir() if p.name.startswith("vaner")]
    assert len(folders) == 1 and folders[0].startswith("vaner-downloads-"), folders
    assert len(list((tmp_path / folders[0]).iterdir())) == 2  # one file per distinct answer


def test_a_server_on_our_port_that_is_not_ours_is_not_taken_for_ours(tmp_path):
    from tests.local_hub import free_port, wait_for

    port, log = free_port(), tmp_path / "log"
    log.write_text("")
    with socket.socket() as stranger:  # accepts connections, answers nothing: the race the Hub test lost
        stranger.bind(("127.0.0.1", port))
        stranger.listen()
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            with pytest.raises(RuntimeError, match="did not start"):
                wait_for(port, sleeper, log, seconds=3, health="/_front/health")
        finally:
            sleeper.kill()
    assert free_port(exclude={port}) != port


def test_the_space_asks_the_model_for_its_own_types(per_type_run):
    from space.app import highlight_html, load_tagger

    tag, config, processing = load_tagger(str(per_type_run[0] / "final"), device="cpu")
    entities = tag(TWO_SENTENCES, config.entity_types, None)
    assert {e["type"] for e in entities} == {"Chemical", "Disease", "Species"}
    legend = highlight_html(TWO_SENTENCES, processing.non_overlapping(entities), config.entity_types)
    assert legend.count('class="vaner-legend"') == 3 and ">Gene<" not in legend

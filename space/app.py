"""VANER Space: paste biomedical text, tick entity types, see the entities highlighted.

The model comes from `VANER_MODEL` (a local folder, a LoRA training output, or a Hub repo id), defaulting to the
default model embedded in the `vaner` package. On the Hub, where only this folder is deployed, a repo id is loaded
through the model's own remote code (`pipeline("vaner-ner", trust_remote_code=True)`), so the Space needs no more
than torch, transformers and gradio.
"""

import hashlib
import html
import importlib
import json
import os
import tempfile
import time
from pathlib import Path

import gradio as gr

COLORS = {"Chemical": "#8dd3c7", "Disease": "#fb8072", "Gene": "#80b1d3", "Species": "#fdb462"}
ADAPTIVE = "adaptive (no dataset guidelines)"
# The model a Space on the Hub loads when VANER_MODEL names none (its card's `models:` names it too).
HUB_MODEL = "vaner/vaner-smollm2"
MAX_CHARACTERS = 20_000  # about 3,000 words: a long abstract or a short paper section
EMPTY_MESSAGE = "Paste some biomedical text first: the box is empty."
TOO_LONG_MESSAGE = (
    f"This text is longer than {MAX_CHARACTERS:,} characters. Please split it; for whole documents "
    "use the command line (`vaner predict --input FILE`), which has no length limit."
)
FALLBACK_EXAMPLE = "Aspirin lowered the risk of breast cancer in BRCA1 carriers, unlike Escherichia coli infection."


def load_tagger(model: str | None, device: str = "auto", runtime: str = "auto"):
    """`tag(text, entity_types, dataset) -> entities` (every mention, with its score), the model's config and its
    `processing_vaner` (the package's, or on the Hub the remote code's). `device`: auto (CUDA when present), cpu or
    cuda; `runtime`: torch, or the model's ONNX export on ONNX Runtime (`onnx`, `onnx-int8`), or `auto` (ONNX in
    float32 where the model's export gives PyTorch's logits: the package's `runtimes.resolve_runtime`)."""
    try:  # the package: its tagging path, any runtime
        from modeling_vaner import VanerTagger, processing_vaner
        from modeling_vaner.onnx_runtime import load_for_runtime
    except ImportError:  # deployed on the Hub: only the model's remote code is available
        import torch
        from transformers import pipeline

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        ner = pipeline(
            "vaner-ner",
            model=model or HUB_MODEL,
            trust_remote_code=True,
            device=device,
            dtype=torch.bfloat16 if device.startswith("cuda") else torch.float32,
        )
        processing = importlib.import_module(type(ner).__module__.rsplit(".", 1)[0] + ".processing_vaner")
        return (
            (lambda text, types, dataset: ner(text, entity_types=types, dataset=dataset)),
            ner.model.config,
            processing,
        )

    model_obj, tokenizer = load_for_runtime(model, runtime, device=device)
    tagger = VanerTagger(model_obj, tokenizer)
    return (lambda text, types, dataset: tagger([text], types, dataset)[0]), model_obj.config, processing_vaner


def real_examples(limit_per_corpus: int = 1) -> list[str]:
    """A few real test sentences from the BioNER corpora, when the shared data is beside this checkout."""
    try:
        from modeling_vaner.corpora import data_root
        from modeling_vaner.formats import read_conll_sentences
    except ImportError:  # deployed on the Hub: neither the package nor the corpora are there
        return [FALLBACK_EXAMPLE]
    examples = []
    for corpus in ("NCBI-disease", "BC5CDR-chem", "BC2GM", "s800"):
        path = data_root() / corpus / "test.tsv"  # $VANER_DATA, else ../shared/data/bioner
        if not path.is_file():
            continue
        found = 0
        for sentence in read_conll_sentences(path):  # streamed: start-up reads only up to the examples it shows
            if 15 <= len(sentence) <= 40:
                examples.append(_detokenize([columns[0] for _, columns in sentence]))
                found += 1
                if found == limit_per_corpus:
                    break
    return examples or [FALLBACK_EXAMPLE]


def _detokenize(words: list[str]) -> str:
    text = " ".join(words)
    for before, after in ((" ,", ","), (" .", "."), (" ;", ";"), (" :", ":"), ("( ", "("), (" )", ")"), (" - ", "-")):
        text = text.replace(before, after)
    return text


BOX = "padding:0.1em 0.3em;border-radius:0.3em;color:#111;"  # a mark's and a legend item's box


def highlight_html(text: str, shown: list[dict], entity_types: list[str]) -> str:
    """The text with each shown mention marked in its type's colour, a legend above; hovering a mark shows its type,
    score and, when linked, its concept (the `title` of each `<mark>`). Every string from the model, its config, the
    linker or the user is escaped: none of them is markup."""
    legend = "".join(
        f'<span class="vaner-legend" style="background:{color(t)};{BOX}font-weight:600">{html.escape(t)}</span> '
        for t in entity_types
    )
    pieces, position = [], 0
    for entity in shown:
        pieces.append(html.escape(text[position : entity["start"]]))
        hover = f"{entity['type']}, score {entity['score']:.2f}"
        if entity.get("id"):
            hover += f", {entity['id']} {entity.get('name') or ''}".rstrip()
        pieces.append(
            f'<mark class="vaner-entity" data-type="{html.escape(entity["type"])}" title="{html.escape(hover)}" '
            f'style="background:{color(entity["type"])};{BOX}cursor:help">'
            f"{html.escape(text[entity['start'] : entity['end']])}</mark>"
        )
        position = entity["end"]
    pieces.append(html.escape(text[position:]))
    return (
        f'<div class="vaner-legend-row" style="margin-bottom:0.5em">{legend}</div>'
        f'<div class="vaner-text" style="white-space:pre-wrap;line-height:2">{"".join(pieces)}</div>'
    )


def color(entity_type: str) -> str:
    """The highlight colour of a type: one of ours, never a string from the model (grey for types we have none for)."""
    return COLORS.get(entity_type, "#ddd")


def model_note(config, results_path: str | None, model: str | None = None) -> str:
    lines = [
        (
            f"**Model**: `{model or 'the VANER default model'}`, built on "
            f"`{getattr(config, 'backbone_name_or_path', None) or 'a LLaMA-architecture backbone'}`."
        )
    ]
    if results_path and Path(results_path).is_file():
        report = read_report(results_path)
        scores = ", ".join(f"{r['dataset']} {100 * r['strict']['f1']:.1f}" for r in report["results"])
        limited = " (on the first sentences of each test set)" if any(r.get("limit") for r in report["results"]) else ""
        lines.append(f"Measured strict entity F1{limited}: {scores}.")
    return " ".join(lines)


def read_report(path: str) -> dict:
    """A `vaner eval` results file, checked against its schema where the harness is installed (locally); on the
    Hub, where only this app is, read as it is."""
    try:
        from harness.results import read_results
    except ImportError:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    return read_results(path)


def load_linker():
    """The package's entity linker (knowledge-base ids), or None where it is not installed (the Hub Space runs the
    model's remote code only)."""
    try:
        from modeling_vaner.linking import Linker

        return Linker.load()
    except ImportError:  # a missing or corrupt index is an error (IndexFileError), not a silent absence
        return None


def answer_function(tag, config, processing, linker, downloads):
    """The app's answer to (text, types, guidelines): the highlight, the table, a JSON download and a status line."""

    def run(text: str, types: list[str], guideline: str, threshold: float = 0.0):
        if not text or not text.strip():
            return "", [], None, EMPTY_MESSAGE
        if len(text) > MAX_CHARACTERS:
            return "", [], None, TOO_LONG_MESSAGE
        if not types:
            return highlight_html(text, [], config.entity_types), [], None, "Tick at least one entity type."
        start = time.perf_counter()
        entities = tag(text, list(types), None if guideline == ADAPTIVE else guideline)
        entities = processing.sure_entities(entities, processing.check_threshold(threshold, config.entity_types))
        if linker is not None:
            linker.link(text, entities)
        seconds = time.perf_counter() - start
        shown = processing.non_overlapping(entities)  # a highlight shows one type per span; the table all
        highlighted = highlight_html(text, shown, config.entity_types)
        table = [
            [e["text"], e["type"], e["start"], e["end"], round(e["score"], 3), e.get("id") or "", e.get("name") or ""]
            for e in entities
        ]
        record = json.dumps({"text": text, "entities": entities}, ensure_ascii=False, indent=2)
        # One folder for the app's downloads (removed when it exits), a file per distinct answer: no temp folder per
        # request is left behind.
        download = Path(downloads.name) / f"entities-{hashlib.sha1(record.encode()).hexdigest()[:16]}.json"
        download.write_text(record, encoding="utf-8")
        hidden = len(entities) - len(shown)
        overlap = f" {hidden} overlapping with a more confident one are in the table only." if hidden else ""
        status = f"{len(entities)} entities, {len(types)} types, {seconds:.2f} s.{overlap}"
        return highlighted, table, str(download), status

    return run


def build_app(
    model: str | None = None, results_path: str | None = None, device: str = "auto", runtime: str = "auto"
) -> gr.Blocks:
    tag, config, processing = load_tagger(model, device, runtime)
    linker = load_linker()
    downloads = tempfile.TemporaryDirectory(prefix="vaner-downloads-")
    guidelines = [ADAPTIVE] + list(getattr(config, "datasets", {}))

    run = answer_function(tag, config, processing, linker, downloads)

    with gr.Blocks(title="VANER: biomedical named entity recognition") as app:
        gr.Markdown(
            "# VANER: biomedical named entity recognition\n"
            "Paste biomedical text, choose the entity types, and see every mention highlighted (hover one "
            "for its score and concept). One instruction-tuned model finds Chemicals, Diseases, Genes and "
            "Species."
        )
        with gr.Row():
            with gr.Column():
                text = gr.Textbox(
                    label="Text",
                    lines=8,
                    max_length=MAX_CHARACTERS * 2,
                    elem_id="vaner-text",
                    placeholder="Paste an abstract or a sentence",
                )
                types = gr.CheckboxGroup(config.entity_types, value=config.entity_types, label="Entity types")
                guideline = gr.Dropdown(guidelines, value=ADAPTIVE, label="Annotation guidelines of")
                threshold = gr.Slider(0, 1, value=0, step=0.05, label="Least score shown", elem_id="vaner-threshold")
                submit = gr.Button("Find entities", variant="primary", elem_id="vaner-submit")
            with gr.Column():
                status = gr.Markdown(elem_id="vaner-status")
                highlighted = gr.HTML(label="Entities", elem_id="vaner-highlighted")
        # The table spans the page: its id, score and concept columns stay in view at 1280 px.
        table = gr.Dataframe(
            headers=["text", "type", "start", "end", "score", "id", "concept"],
            label="Entity table (ids: MeSH/OMIM, ChEBI, HGNC, NCBI Taxonomy)",
            interactive=False,
            elem_id="vaner-table",
            wrap=True,
        )
        download = gr.File(label="Download (JSON)")
        gr.Examples(real_examples(), inputs=[text], label="Examples (test sentences of the BioNER corpora)")
        gr.Markdown(model_note(config, results_path, model))
        submit.click(run, [text, types, guideline, threshold], [highlighted, table, download, status], api_name="tag")
    app.downloads = downloads  # lives (and is cleaned up) with the app
    return app.queue(default_concurrency_limit=2)


def default_results(model: str | None) -> str | None:
    """The scores shipped beside a model: a local model folder's `results.json`, or the default model's."""
    if model:
        return str(Path(model) / "results.json") if (Path(model) / "results.json").is_file() else None
    try:
        from modeling_vaner import DEFAULT_MODEL_DIR
    except ImportError:
        return None
    return str(DEFAULT_MODEL_DIR / "results.json")


def main(
    model: str | None = None,
    host: str = "127.0.0.1",
    port: int = 7860,
    results: str | None = None,
    device: str | None = None,
    runtime: str | None = None,
) -> None:
    model = model or os.environ.get("VANER_MODEL")
    results = results or os.environ.get("VANER_RESULTS") or default_results(model)
    device = device or os.environ.get("VANER_DEVICE", "auto")
    runtime = runtime or os.environ.get("VANER_RUNTIME", "auto")
    build_app(model, results, device, runtime).launch(server_name=host, server_port=port)


if __name__ == "__main__":
    main()

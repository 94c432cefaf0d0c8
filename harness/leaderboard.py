"""The leaderboard: measured results (from `vaner eval` JSON) beside published ones, clearly apart, in markdown."""

from pathlib import Path

from modeling_vaner.corpora import CORE_CORPORA, PAPER_CORPORA

from .documents import cell, corpus_label, render_documents_table

# F1 as reported by the systems' authors: not measured here.
REPORTED = [
    {
        "model": "BioBERT v1.1",
        "source": "Lee et al. 2020, BioBERT, Bioinformatics 36(4):1234-1240, NER results of BioBERT v1.1 (+PubMed)",
        "f1": {
            "NCBI-disease": 89.71,
            "BC5CDR-disease": 87.15,
            "BC5CDR-chem": 93.47,
            "BC4CHEMD": 92.36,
            "BC2GM": 84.72,
            "JNLPBA": 77.49,
            "linnaeus": 88.24,
            "s800": 74.06,
        },
    },
    {
        "model": "PubMedBERT",
        "source": "Gu et al. 2021, Domain-Specific Language Model Pretraining for Biomedical NLP, ACM Trans. Comput. Healthcare 3(1), BLURB NER results",
        "f1": {"BC5CDR-chem": 93.33, "BC5CDR-disease": 85.62, "NCBI-disease": 87.82, "BC2GM": 84.52, "JNLPBA": 79.10},
    },
]
COLUMN_ORDER = PAPER_CORPORA


def render_markdown(reports: list[dict], reported: list[dict] = REPORTED) -> str:
    """One row per measured model (strict F1 per corpus, the mean over the eight core corpora, training time when
    `vaner train` recorded it, eval words/s) and per reported system."""
    present = {r["dataset"] for report in reports for r in report["results"] if r.get("level") != "document"}
    documents = render_documents_table(reports)
    if documents and not present:  # document corpora only: their table alone
        return documents
    columns = [name for name in COLUMN_ORDER if name in present] + sorted(present - set(COLUMN_ORDER))
    columns = columns or list(CORE_CORPORA)
    header = (
        "| model | kind | "
        + " | ".join(cell(corpus_label(c)) for c in columns)
        + " | core mean | train time | words/s |"
    )
    lines = [
        (
            "Entity-level F1 (strict IOB2; conlleval-style in brackets). *Reported* rows are the authors' "
            "published figures, not measured here."
        ),
        "",
        header,
        "|" + "---|" * (len(columns) + 5),
    ]
    for report in reports:
        by_name = {r["dataset"]: r for r in report["results"] if r.get("level") != "document"}
        cells, f1s, words, seconds = [], [], 0, 0.0
        for name in columns:
            result = by_name.get(name)
            if result is None:
                cells.append("")
                continue
            if name in CORE_CORPORA:  # the mean is over the paper's eight corpora only, never the unseen ones
                f1s.append(100 * result["strict"]["f1"])
            words += result["words"]
            seconds += result["seconds"]
            limited = "*" if result.get("limit") else ""
            cells.append(f"{100 * result['strict']['f1']:.2f} ({100 * result['default']['f1']:.2f}){limited}")
        mean = f"{sum(f1s) / len(f1s):.2f}" if f1s else ""
        if f1s and len(f1s) < len(CORE_CORPORA):
            mean += f" (of {len(f1s)})"
        speed = f"{words / seconds:.0f}" if seconds else ""
        trained = report.get("training") or {}
        train_time = f"{trained['seconds'] / 60:.0f} min" if trained.get("summaries") else ""
        lines.append(
            f"| {cell(report['model'])} | measured ({report['kind']}) | "
            + " | ".join(cells)
            + f" | {mean} | {train_time} | {speed} |"
        )
    for row in reported:
        cells = [f"{row['f1'][name]:.2f}" if name in row["f1"] else "" for name in columns]
        values = [row["f1"][name] for name in CORE_CORPORA if name in row["f1"]]
        mean = f"{sum(values) / len(values):.2f}" if len(values) == len(CORE_CORPORA) else ""
        lines.append(f"| {row['model']} | *reported* | " + " | ".join(cells) + f" | {mean} | | |")
    lines.append("")
    if any(r.get("limit") for report in reports for r in report["results"]):
        lines.append("\\* scored on the first N sentences of the split only (`--limit`).")
    lines.extend(f"- {row['model']}: {row['source']}" for row in reported)
    return "\n".join(lines) + "\n" + (f"\n{documents}" if documents else "")


def write_leaderboard(reports: list[dict], path: str | Path) -> str:
    text = render_markdown(reports)
    Path(path).write_text(text, encoding="utf-8")
    return text

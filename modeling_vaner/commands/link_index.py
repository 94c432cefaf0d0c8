"""`vaner link-index`: build the shipped linking index from the vocabularies and the gold-linked corpora.

Thresholds are chosen without test data: an index whose extra names come from the training mentions only picks each
type's TF-IDF threshold on the devel mentions; the index that ships then adds the devel mentions too.
"""

from pathlib import Path

from ..linking.index import ENTITY_TYPES, GOLD_CORPORA, build_type_index
from ..linking.linker import Linker
from ..linking.vocabularies import VocabularyError


def build_index(data_root: Path, output: Path, progress=print) -> dict[str, float]:
    """Write one `<type>.json.gz` per entity type into `output`; returns the thresholds chosen.

    Every type is built into a folder beside `output` first; only when all are written is that folder swapped in
    for `output`, so a failure (a missing or malformed vocabulary) leaves the previous index whole."""
    import shutil
    import tempfile

    from harness.linking import LINKING_SETS, choose_threshold

    check_inputs(data_root)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    thresholds = {}
    try:
        for entity_type in ENTITY_TYPES:
            sets = [(corpus, kind) for corpus, kind in LINKING_SETS if kind == entity_type]
            if sets:
                tuning = build_type_index(entity_type, data_root, gold_splits=("train",))
                thresholds[entity_type] = choose_threshold(
                    Linker({entity_type: tuning}), sets, "devel", data_root / "linking"
                )
            else:  # no gold-linked corpus for this type (genes): keep every TF-IDF link above a modest cosine
                thresholds[entity_type] = 0.5
            index = build_type_index(
                entity_type, data_root, gold_splits=("train", "devel") if GOLD_CORPORA[entity_type] else ()
            )
            index.threshold = thresholds[entity_type]
            path = index.save(staging)
            progress(
                f"{entity_type}: {len(index.concepts):,} concepts, {len(index.names):,} names, threshold "
                f"{index.threshold:.2f} -> {output / path.name} ({path.stat().st_size / 2**20:.2f} MiB)"
            )
        swap_in(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return thresholds


def check_inputs(data_root: Path) -> None:
    """The folders every vocabulary and gold corpus is read from, before anything is built or written."""
    for folder in (data_root / "kb", data_root / "linking" / "vocab", data_root / "linking"):
        if not folder.is_dir():
            raise VocabularyError(
                f"{folder}: no such folder; --data must hold kb/ and linking/ (../shared/data has them)."
            )


def swap_in(staging: Path, output: Path) -> None:
    """Put the index files of `staging` in place of `output`'s, each by an atomic rename; other files stay."""
    output.mkdir(parents=True, exist_ok=True)
    for path in sorted(staging.glob("*.json.gz")):
        path.replace(output / path.name)

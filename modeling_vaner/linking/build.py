"""`vaner link-index`: build the shipped linking index from the vocabularies and the gold-linked corpora.

Thresholds are chosen without test data: an index whose extra names come from the training mentions only picks each
type's TF-IDF threshold on the devel mentions; the index that ships then adds the devel mentions too.
"""

from pathlib import Path

from .index import ENTITY_TYPES, GOLD_CORPORA, build_type_index
from .linker import Linker


def build_index(data_root: Path, output: Path, progress=print) -> dict[str, float]:
    """Write one `<type>.json.gz` per entity type into `output`; returns the thresholds chosen."""
    from harness.linking import LINKING_SETS, choose_threshold

    thresholds = {}
    for entity_type in ENTITY_TYPES:
        sets = [(corpus, kind) for corpus, kind in LINKING_SETS if kind == entity_type]
        if sets:
            tuning = build_type_index(entity_type, data_root, gold_splits=("train",))
            thresholds[entity_type] = choose_threshold(Linker({entity_type: tuning}), sets, "devel",
                                                       data_root / "linking")
        else:  # no gold-linked corpus for this type (genes): keep every TF-IDF link above a modest cosine
            thresholds[entity_type] = 0.5
        index = build_type_index(entity_type, data_root, gold_splits=("train", "devel") if
                                 GOLD_CORPORA[entity_type] else ())
        index.threshold = thresholds[entity_type]
        path = index.save(output)
        progress(f"{entity_type}: {len(index.concepts):,} concepts, {len(index.names):,} names, threshold "
                 f"{index.threshold:.2f} -> {path} ({path.stat().st_size / 2**20:.2f} MiB)")
    return thresholds

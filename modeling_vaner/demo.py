"""`vaner demo`: the whole road on the real backbone with an untrained head.

It shows that the backbone converts, VANER builds from it and tags text for every entity type in one batched pass,
with character offsets. The head is random, so the entities are noise until a trained model ships; the output says so.
"""

import time

SAMPLE_TEXT = "Aspirin lowered the risk of breast cancer in BRCA1 carriers, unlike Escherichia coli infection."


def run_demo(text: str | None = None, seed: int = 0) -> int:
    from transformers import AutoTokenizer, set_seed

    from .backbone import convert_smollm2, read_provenance
    from .modeling_vaner import VanerForTokenClassification
    from .pipeline_vaner import VanerTagger

    text = text or SAMPLE_TEXT
    backbone_dir = convert_smollm2()
    set_seed(seed)
    model = VanerForTokenClassification.from_backbone(backbone_dir, backbone_provenance=read_provenance(backbone_dir))
    tagger = VanerTagger(model.eval(), AutoTokenizer.from_pretrained(backbone_dir))

    start = time.perf_counter()
    [entities] = tagger(text)
    seconds = time.perf_counter() - start
    print(f"Backbone: {backbone_dir}")
    print(f"UNTRAINED head (random weights, seed {seed}): the entities below are not predictions.")
    print(f"Text: {text}")
    print(f"{len(entities)} entities, {len(model.config.entity_types)} types in one pass, {seconds * 1000:.0f} ms:")
    for entity in entities:
        print(f"  {entity['start']:>4}-{entity['end']:<4} {entity['type']:<8} {entity['score']:.2f}  {entity['text']}")
    return 0

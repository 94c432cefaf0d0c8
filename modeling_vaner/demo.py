"""`vaner demo`: the whole road on the real backbone with an untrained head.

It shows that the backbone converts, VANER builds from it and tags text per entity type. The head is random, so the
tags are noise until a trained model ships; the output says so.
"""

import re
import time

SAMPLE_TEXT = "Aspirin lowered the risk of breast cancer in BRCA1 carriers , unlike Escherichia coli infection ."


def run_demo(text: str | None = None, seed: int = 0) -> int:
    import torch
    from transformers import AutoTokenizer, set_seed

    from .backbone import convert_smollm2, read_provenance
    from .modeling_vaner import VanerForTokenClassification
    from .pipeline_vaner import encode_words

    backbone_dir = convert_smollm2()
    set_seed(seed)
    model = VanerForTokenClassification.from_backbone(backbone_dir, backbone_provenance=read_provenance(backbone_dir))
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(backbone_dir)

    # Whitespace and punctuation split, enough for a demo; `vaner predict` does it the corpora's way.
    words = re.findall(r"\w+|[^\w\s]", text or SAMPLE_TEXT)
    print(f"Backbone: {backbone_dir}")
    print("UNTRAINED head (random weights, seed %d): the tags below are not predictions." % seed)
    print("Text: " + " ".join(words))
    for entity_type in model.config.entity_types:
        input_ids, word_ids = encode_words(tokenizer, model.config.instruction(entity_type), words)
        start = time.perf_counter()
        with torch.inference_mode():
            logits = model(torch.tensor([input_ids])).logits[0]
        seconds = time.perf_counter() - start
        first_subtoken = {}
        for position, word in enumerate(word_ids):
            if word is not None and word not in first_subtoken:
                first_subtoken[word] = position
        tags = [model.config.id2label[int(logits[first_subtoken[i]].argmax())] for i in range(len(words))]
        tagged = " ".join(f"{word}/{tag}" for word, tag in zip(words, tags))
        print(f"{entity_type:>8} ({len(input_ids)} tokens, {seconds * 1000:.0f} ms): {tagged}")
    return 0

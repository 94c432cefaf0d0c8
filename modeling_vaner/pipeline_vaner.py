# Copyright 2026 The VANER authors. Licensed under the Apache License, Version 2.0.
"""The inference road from words to model inputs and back to BIO tags.

Remote code: uploaded to the Hub beside the weights, so it imports only `torch`, `transformers` and the other two
VANER files.
"""

from transformers import PreTrainedTokenizerBase


def encode_words(
    tokenizer: PreTrainedTokenizerBase, instruction: str, words: list[str]
) -> tuple[list[int], list[int | None]]:
    """Token ids for an instruction followed by pre-split words, and the word each token belongs to.

    The text reads `"<instruction> word1 word2 ..."`: each word is tokenized with a leading space, as it appears in
    running text (byte-level BPE tokenizers ignore `add_prefix_space`, so a bare word would be encoded as
    text-initial pieces). The tokenizer adds its special tokens (BOS for LLaMA-2, none for SmolLM2) in front.

    Returns:
        `(input_ids, word_ids)`, both of length `num_tokens`; `word_ids[t]` is the index in `words` of token `t`,
        or None for instruction and special tokens.
    """
    input_ids = tokenizer(instruction.rstrip(), add_special_tokens=True)["input_ids"]
    word_ids: list[int | None] = [None] * len(input_ids)
    if words:
        for index, pieces in enumerate(tokenizer([" " + word for word in words], add_special_tokens=False)["input_ids"]):
            input_ids.extend(pieces)
            word_ids.extend([index] * len(pieces))
    return input_ids, word_ids

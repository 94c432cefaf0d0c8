"""The model side of a VANER model with one BIO head per entity type (`head_layout: per_type`, one pass for all
types): the heads a run's corpora give it, and a one-pass copy of a shared-head model to train from. Its training
rows are those of the shared-head model (`mix.build_train_rows`), with tags per head."""

from ..configuration_vaner import DEFAULT_ENTITY_TYPES
from ..corpora import get_corpus


def entity_types_of(corpora: list[str]) -> list[str]:
    """The heads a model trained on `corpora` gets: their entity types, the four VANER types first in their order."""
    types = {get_corpus(name).entity_type for name in corpora}
    return [t for t in DEFAULT_ENTITY_TYPES if t in types] + sorted(types - set(DEFAULT_ENTITY_TYPES))


def with_type_heads(model, corpora: list[str]):
    """A one-pass copy of a shared-head VANER `model` for training on `corpora`: the same weights, and a head per
    entity type (the model's own types, then the corpora's new ones), each a copy of the shared head. Asked with
    one type's instruction, every head then gives the shared model's answer for that type (the same weights
    exactly; logits to float rounding): training only has to teach the instruction that names several types."""
    types = list(model.config.entity_types)
    types += [t for t in entity_types_of(corpora) if t not in types]
    config = type(model.config).from_dict({**model.config.to_dict(), "head_layout": "per_type", "entity_types": types})
    state = model.state_dict()
    state["score.weight"] = state["score.weight"].repeat(len(types), 1)  # head k: rows [3k, 3k + 3)
    state["score.bias"] = state["score.bias"].repeat(len(types))
    copy = type(model)(config).to(model.dtype)
    state["score.type_hashes"] = copy.score.type_hashes  # the types the new heads are for
    copy.load_state_dict(state)
    return copy.train(model.training)

"""VANER as a spaCy pipeline component, the way scispaCy users tag text (`pip install vaner[spacy]`):

    import spacy
    nlp = spacy.blank("en")
    nlp.add_pipe("vaner")                                   # the default model; config={"model": "org/vaner-..."}
    doc = nlp("Aspirin lowered the risk of breast cancer in BRCA1 carriers.")
    [(ent.text, ent.label_, ent.start_char, ent.end_char) for ent in doc.ents]

`doc.ents` holds the mentions that do not overlap (where mentions of two types overlap, the more confident one, as
spaCy entities cannot overlap); `doc.spans["vaner"]` holds every mention, overlaps included. Each span's
`span._.vaner_score` is its score, and with `link: true` its `kb_id_` the knowledge-base id (MeSH, ChEBI, HGNC, NCBI
Taxonomy), `span._.vaner_ids` all the concept's ids, `span._.vaner_name` its preferred name and
`span._.vaner_link_score` the link's score: what `vaner predict --link` gives. A mention that starts or ends inside a spaCy token is widened to whole tokens (spaCy spans are token
spans); with spaCy's English tokenizer and biomedical text that is rare.
"""

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from .processing_vaner import non_overlapping

# Each span's entity fields beyond label and kb_id_, under the names `vaner predict` writes them.
SPAN_FIELDS = {"vaner_score": "score", "vaner_ids": "ids", "vaner_name": "name", "vaner_link_score": "link_score"}
for extension in SPAN_FIELDS:
    if not Span.has_extension(extension):
        Span.set_extension(extension, default=None)


@Language.factory(
    "vaner",
    default_config={
        "model": None,
        "entity_types": None,
        "dataset": None,
        "link": False,
        "device": "auto",
        "batch_size": 16,
        "spans_key": "vaner",
        "threshold": None,
    },
)
def make_vaner(
    nlp: Language,
    name: str,
    model: str | None,
    entity_types: list[str] | None,
    dataset: str | None,
    link: bool,
    device: str,
    batch_size: int,
    spans_key: str,
    threshold: float | dict[str, float] | None,
) -> "VanerComponent":
    """The `vaner` factory (`nlp.add_pipe("vaner", config={...})`): `model` a folder or Hub id (None: the default
    model), the entity types (None: all the model knows), a corpus's guidelines, whether to link, the least score a
    mention keeps (a number, or `{type: number}`)."""
    return VanerComponent(model, entity_types, dataset, link, device, batch_size, spans_key, threshold)


class VanerComponent:
    """Tags `doc.text` with a VANER model and sets `doc.ents` and `doc.spans[spans_key]`."""

    def __init__(
        self,
        model: str | None = None,
        entity_types: list[str] | None = None,
        dataset: str | None = None,
        link: bool = False,
        device: str = "auto",
        batch_size: int = 16,
        spans_key: str = "vaner",
        threshold: float | dict[str, float] | None = None,
    ):
        from . import VanerTagger, load_vaner

        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"vaner component: batch_size must be a whole number of at least 1, got {batch_size!r}")
        model, tokenizer = load_vaner(model, device=device)
        try:
            self.tagger = VanerTagger(model, tokenizer, threshold=threshold)
        except ValueError as error:
            raise ValueError(f"vaner component: {error}") from None
        self.tagger.instructions(entity_types, dataset)  # unknown types or guidelines fail here, not on a doc
        self.entity_types, self.dataset, self.batch_size, self.spans_key = entity_types, dataset, batch_size, spans_key
        self.linker = None
        if link:
            from .linking import Linker

            self.linker = Linker.load()

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs, batch_size: int = 64):
        for batch in minibatch(docs, size=batch_size):
            tagged = self.tagger([doc.text for doc in batch], self.entity_types, self.dataset, self.batch_size)
            for doc, entities in zip(batch, tagged):
                if self.linker is not None:
                    self.linker.link(doc.text, entities)
                yield set_entities(doc, entities, self.spans_key)


def set_entities(doc: Doc, entities: list[dict], spans_key: str) -> Doc:
    """Every mention in `doc.spans[spans_key]`; the one layer `non_overlapping` keeps in `doc.ents`, beside the
    entities the doc already had (an earlier component's) where they do not overlap ours."""
    doc.spans[spans_key] = [span for span in (to_span(doc, entity) for entity in entities) if span is not None]
    shown = [to_span(doc, entity) for entity in non_overlapping(entities)]
    ours = spacy.util.filter_spans([span for span in shown if span is not None])  # (widened spans may touch)
    taken = {i for span in ours for i in range(span.start, span.end)}
    kept = [span for span in doc.ents if not taken.intersection(range(span.start, span.end))]  # earlier components'
    doc.ents = sorted([*ours, *kept], key=lambda span: span.start)
    return doc


def to_span(doc: Doc, entity: dict) -> Span | None:
    """The mention's span: its exact characters when they fall on token edges, else widened to whole tokens."""
    for mode in ("strict", "expand"):
        span = doc.char_span(
            entity["start"], entity["end"], label=entity["type"], kb_id=entity.get("id") or "", alignment_mode=mode
        )
        if span is not None:
            for extension, key in SPAN_FIELDS.items():
                span._.set(extension, entity.get(key))
            return span
    return None

"""Entity linking: knowledge-base identifiers for the mentions VANER recognises (not remote code: it needs the
vocabularies, shipped as a compact index in `modeling_vaner/linking_index/`)."""

from .index import INDEX_DIR, build_type_index, load_index
from .linker import Linker
from .vocabularies import VocabularyError

__all__ = ["INDEX_DIR", "Linker", "VocabularyError", "build_type_index", "load_index"]

"""`VanerConfig` (`configuration_vaner.py`): the instruction it writes for one type, several types and a dataset's
guidelines."""

import pytest

from modeling_vaner import VanerConfig
from tests.conftest import TYPES, tiny_config


def test_the_config_names_every_requested_type_in_one_instruction():
    config = tiny_config(head_layout="per_type")
    assert config.num_type_heads == 4 and config.head_index("Gene") == 2
    assert config.instruction(TYPES) == (
        "If any Chemical, Disease, Gene or Species entity is mentioned in the input, extract it. ##input: "
    )
    assert config.instruction(["Chemical", "Disease"], ["BC5CDR-chem", "BC5CDR-disease"]) == (
        "If any Chemical or Disease entity is mentioned in the BC5CDR-chem and BC5CDR-disease input, extract it. "
        "##input: "
    )
    assert config.instruction("Disease", "NCBI-disease") == tiny_config().instruction("Disease", "NCBI-disease")
    with pytest.raises(ValueError, match="one shared head"):
        tiny_config().instruction(["Chemical", "Disease"])
    with pytest.raises(ValueError, match="head_layout 'both'"):
        tiny_config(head_layout="both")
    # A config saved before head layouts existed is a shared-head model.
    saved = tiny_config().to_dict()
    saved.pop("head_layout")
    assert VanerConfig.from_dict(saved).head_layout == "shared" and VanerConfig.from_dict(saved).num_type_heads == 1

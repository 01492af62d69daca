"""normalize_name's quick path for plain ASCII names decides as the general path does."""

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from vaxres import validate
from vaxres.errors import InvalidValue


def general_path(value: str) -> str | None:
    """What a name becomes by the documented rule (NFC, whitespace runs collapsed, trimmed), or
    None when the rule refuses it."""
    text = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cn", "Cs") for ch in text):
        return None
    text = re.sub(r"\s+", " ", text).strip()
    return text if 0 < len(text) <= validate.MAX_NAME_LENGTH else None


def normalized(value: str) -> str | None:
    try:
        return validate.normalize_name(value, field="hospital")
    except InvalidValue:
        return None


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=210))
def test_ascii_names_normalise_as_the_general_rule_says(value):
    assert normalized(value) == general_path(value)


@given(st.text(alphabet=st.sampled_from(" \t\n\u00a0\u2028\u3000\u200bab가e\u0301"), max_size=12))
def test_names_with_other_spaces_and_marks_normalise_as_the_general_rule_says(value):
    assert normalized(value) == general_path(value)

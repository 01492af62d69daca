"""The import's fingerprints (identity.fingerprinter, the key's pads hashed once) are the HMACs
`person add` stores (identity.digits_fingerprint), for keys shorter and longer than a block."""

from hypothesis import given, settings
from hypothesis import strategies as st

from vaxres.people import identity


@settings(max_examples=300, derandomize=True)
@given(key=st.binary(min_size=32, max_size=200), digits=st.from_regex(r"\A[0-9]{13}\Z"))
def test_the_import_fingerprints_as_person_add_does(key, digits):
    fingerprint = identity.fingerprinter(key)
    assert fingerprint(digits) == identity.digits_fingerprint(key, digits)
    assert fingerprint(digits) == fingerprint(digits)  # the pads are copied, never used up

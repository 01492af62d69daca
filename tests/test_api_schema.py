"""The API's contract, by schemathesis against the app in the suite: no generated request gets a
500, and every answer matches the OpenAPI schema (status, content type, body)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from tests.helpers import future

EXAMPLES = 40
# What the contract promises. Not positive_data_acceptance: the schema types a date or a name as
# a string, and the rules (the same as the CLI's) refuse many strings with a 422.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.negative_data_rejection,
]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def api_schema(store):
    from vaxres.access.tokens import add_token
    from vaxres.api.app import create_app
    from vaxres.booking.reservations import reserve
    from vaxres.booking.slots import add_slot

    token = add_token(store, "fuzz", role="admin").token
    add_slot(store, date=future(), hospital="Seoul Clinic", vaccine="Janssen", quantity=3)
    reserve(store, user="kim", slot_id=1)
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(store))
    schema.config.headers = {"Authorization": f"Bearer {token}"}
    # A negative case may be too large to send (a long array or object in the query): refused
    # by the request's bounds (api/bounds.py), 413/414/431, as rightly as by a 422.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413", "414", "431"]
    return schema


@pytest.mark.slow
def test_every_operation_keeps_to_its_schema(api_schema):
    """Each operation in turn (the plugin's own parametrization does not run under this pytest)."""
    checked = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

        @given(case=cases)
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def keeps_to_its_schema(case):
            case.call_and_validate(checks=CHECKS)

        keeps_to_its_schema()
        checked.append(operation.label)
    assert len(checked) >= 15, checked

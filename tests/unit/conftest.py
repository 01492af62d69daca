"""The unit layer: pure decisions, no store, no process, no sleeping; the whole folder runs in
well under 2 s (`uv run pytest tests/unit`). The suite's autouse fixtures that prepare a store
and its clock are replaced here by fixtures that do nothing."""

import pytest


@pytest.fixture(autouse=True)
def isolated_state():
    yield


@pytest.fixture(autouse=True)
def database_clock_follows_the_machine():
    yield

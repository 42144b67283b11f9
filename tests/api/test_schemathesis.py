"""Every operation of the OpenAPI document, fuzzed: no 5xx, and every error in the JSON shape.

Schemathesis reads ``/api/v1/openapi.json`` and sends what it describes, and what it does not
(wrong types, missing fields, odd text), with no token and with a staff token, on SQLite and
on the real PostgreSQL (which refuses text that SQLite would store).  The examples are bounded
and derandomized, so a run takes seconds and a failure comes back the same way every time.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from ..conftest import Tokens, make_settings, prepare_database
from ..support.apps import clinic_app

#: Examples per operation and mode: enough to find the classes of input that broke it.
EXAMPLES = 20


@pytest.fixture
def any_clinic(any_database_url, clock):
    """The example clinic on SQLite and on the real PostgreSQL."""
    clinic_settings = make_settings(any_database_url)
    prepare_database(clinic_settings)
    with clinic_app(clinic_settings, clock) as app:
        yield app


@pytest.fixture
def staff_headers(any_clinic, clock):
    return Tokens(any_clinic, clock).headers("staff")


fuzzing = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def assert_no_server_error(case, response):
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
    if response.status_code >= 400:
        error = response.json()["error"]
        assert error["code"] and error["message"], response.text


def fuzz_every_operation(app, callers: list[dict[str, str]]) -> int:
    """Send each operation data that fits its schema and data that does not, as each caller.

    Each generated case goes to every caller in turn: generating is what takes the time.
    Returns how many operations were fuzzed.
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @fuzzing
            @given(case=operation.as_strategy(mode))
            def check(case):
                for headers in callers:
                    assert_no_server_error(case, case.call(headers=headers))

            try:
                check()
            except Unsatisfiable:
                # Nothing in this operation can be made invalid (no body, no free parameter).
                if mode is GenerationMode.POSITIVE:
                    raise
    return len(operations)


def test_no_operation_answers_5xx_with_or_without_a_token(any_clinic, staff_headers):
    assert fuzz_every_operation(any_clinic, [{}, staff_headers]) >= 15

"""The one exception handler (api.errors): whatever a service raises reaches the client in the
documented shape, so API views call services without catching their errors."""

import pytest
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError

from api.errors import api_exception_handler
from ingest.parsers import FileRefused


def handled(exc) -> tuple[int, dict]:
    response = api_exception_handler(exc, {})
    return response.status_code, response.data["error"]


def test_a_django_validation_error_with_fields_is_a_400_naming_each_field():
    status, error = handled(DjangoValidationError({"name": "Give the key a name.", "scope": ["Pick one."]}))

    assert status == 400
    assert error["code"] == "invalid"
    assert error["fields"] == {"name": ["Give the key a name."], "scope": ["Pick one."]}


@pytest.mark.parametrize(
    "exc",
    [
        DjangoValidationError("This run is over."),
        DjangoValidationError({NON_FIELD_ERRORS: ["This run is over."]}),
    ],
    ids=["plain", "__all__"],
)
def test_a_django_validation_error_without_a_field_is_a_non_field_error(exc):
    status, error = handled(exc)

    assert status == 400
    assert error["fields"] == {"non_field_errors": ["This run is over."]}


def test_a_refused_file_is_a_400_on_the_file_field():
    status, error = handled(FileRefused("The file is empty. Export the data again."))

    assert status == 400
    assert error["fields"] == {"file": ["The file is empty. Export the data again."]}


def test_other_exceptions_are_left_to_the_server_error_path():
    assert api_exception_handler(RuntimeError("secret internals"), {}) is None

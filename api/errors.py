"""One JSON error shape for every API failure:

    {"error": {"code": "...", "message": "...", "fields": {...}}}

`fields` maps input names to their problems (validation errors only); a few errors add
details next to them, e.g. the quota error's limit, usage and reset time.

DRF views answer through `api_exception_handler`, the one handler: besides DRF's own errors it
turns what services and selectors raise into this shape — Django's ValidationError (400 with
`fields`), PermissionDenied (403), Http404 (404), and any exception that names the input it
refuses in an `api_field` attribute (400 on that field, e.g. ingest's FileRefused on `file`) — so
API views call them without catching their errors. Whatever else fails under /api/ — unknown paths,
unknown hosts, Django's own refusals, an unexpected exception — is answered by
`status_error_response`, which api.middleware.ApiErrorsAsJsonMiddleware applies to every error
that is not JSON yet.
"""

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from api.parsers import body_too_large
from tenants.usage import QuotaDecision

API_PREFIX = "/api/"
# What a client can do about an error that Django answered before, or instead of, a DRF view.
STATUS_ERRORS = {
    400: ("bad_request", "The request could not be read; check its syntax, headers and body."),
    403: (
        "forbidden",
        "This request is not allowed. API calls authenticate with the header "
        "`Authorization: Token <key>`, never with cookies.",
    ),
    404: ("not_found", "There is no API endpoint at {path}. The endpoints are listed at /api/docs/."),
    405: ("method_not_allowed", "{method} is not allowed at {path}; use {allowed}."),
    500: (
        "server_error",
        "Something went wrong on our side and the request was not completed. Retry in a moment; if it "
        "keeps failing, contact support with the time of the request.",
    ),
}


class QuotaExceeded(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "quota_exceeded"

    def __init__(self, decision: QuotaDecision):
        self.decision = decision
        super().__init__(
            f"This workspace has used all {decision.limit} API requests of its plan this month. "
            f"The quota resets at {decision.resets_at.isoformat()}; upgrade the plan for more."
        )

    def details(self) -> dict:
        return {
            "limit": self.decision.limit,
            "used": self.decision.used,
            "resets_at": self.decision.resets_at.isoformat(),
        }


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def error_response(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "fields": {}}}, status=status_code)


def status_error_response(request: HttpRequest, response: HttpResponse) -> JsonResponse:
    """The JSON error for an error response made outside DRF: a refusal that says what an API client
    should read (`api_error`, see tenants.middleware.labelled), or Django's page or empty 405. No
    detail of a server failure reaches the client."""
    if hasattr(response, "api_error"):
        return error_response(response.status_code, *response.api_error)
    known = min(response.status_code, 500)
    code, message = STATUS_ERRORS.get(known, ("error", f"{response.reason_phrase}."))
    details = {"path": request.path, "method": request.method, "allowed": response.get("Allow", "")}
    return error_response(response.status_code, code, message.format(**details))


def api_exception_handler(exc, context):
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    error = {"code": _code(exc), "message": _message(exc), "fields": _fields(exc)}
    if isinstance(exc, QuotaExceeded):
        error.update(exc.details())
    response.data = {"error": error}
    return response


def _as_api_exception(exc):
    """What services raise as DRF's exceptions: Django's validation errors and refusals of an input
    (`api_field`) as a 400 naming the fields; Django's 404 and permission errors as DRF's own handler
    converts them, so their code reads not_found or permission_denied rather than error; and
    Django's refusals of a request body, which DRF's handler would leave to Django (a 400 page)."""
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(_django_fields(exc))
    if isinstance(getattr(exc, "api_field", None), str):
        return exceptions.ValidationError({exc.api_field: [str(exc)]})
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, RequestDataTooBig):
        return body_too_large()
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return exceptions.ParseError(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} form fields or "
            f"{settings.DATA_UPLOAD_MAX_NUMBER_FILES} files; send fewer."
        )
    return exc


def _django_fields(exc: DjangoValidationError) -> dict[str, list[str]]:
    """Field problems under their names; the rest under DRF's `non_field_errors`."""
    problems = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    return {
        api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name: messages
        for name, messages in problems.items()
    }


def _code(exc) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "invalid"
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
    return codes if isinstance(codes, str) else getattr(exc, "default_code", "error")


def _message(exc) -> str:
    if isinstance(exc, exceptions.NotAuthenticated):
        return "This endpoint needs an API key: send the header `Authorization: Token <key>`."
    if isinstance(exc, exceptions.ValidationError):
        return "Some fields are invalid; see `fields` for what to change."
    return str(exc.detail) if isinstance(exc, exceptions.APIException) else str(exc)


def _fields(exc) -> dict:
    if not isinstance(exc, exceptions.ValidationError):
        return {}
    detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    return {name: [str(message) for message in _as_list(messages)] for name, messages in detail.items()}


def _as_list(messages) -> list:
    return messages if isinstance(messages, list) else [messages]


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. not_authenticated.")
    message = serializers.CharField(help_text="What was wrong and what to do, in a sentence.")
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Problems per input field."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()

"""One JSON error shape for every API failure:

    {"error": {"code": "...", "message": "...", "fields": {...}}}

`fields` maps input names to their problems (validation errors only); a few errors add
details next to them, e.g. the quota error's limit, usage and reset time.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler as drf_exception_handler

from tenants.usage import QuotaDecision


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
    """Django's 404 and permission errors (raised by services too) as DRF's, as DRF's own handler
    converts them, so their code reads not_found or permission_denied rather than error."""
    if isinstance(exc, Http404):
        return exceptions.NotFound(*exc.args)
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied(*exc.args)
    return exc


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

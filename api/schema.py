"""OpenAPI details drf-spectacular cannot infer: our key scheme and our error responses."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from api.errors import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input; `error.fields` says which fields and why.",
    "401": "No key, or the key is unknown, revoked or expired.",
    "403": "The key's scope is too narrow, the key belongs to another workspace, or the workspace is suspended.",
    "404": "No such object in this workspace.",
    "429": "The plan's monthly request quota is used up; the body gives the limit, usage and reset time.",
}


class PulseAutoSchema(AutoSchema):
    """Every operation documents the errors every operation can return."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
            response["description"] = ERROR_DESCRIPTIONS[code]
            responses.setdefault(code, response)
        return responses

    def _error_codes(self) -> list[str]:
        if not getattr(self.view, "authentication_classes", None):
            return []
        codes = ["401", "403", "429"]
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("400")
        if "{" in self.path:
            codes.append("404")
        return codes


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` (or `Bearer <key>`). Create keys under Settings → API keys.",
        }

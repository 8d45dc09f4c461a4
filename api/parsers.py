"""DRF's body parsers, made safe for bodies from anyone.

DRF reads a JSON or form body whole, however large, and Python's JSON decoder recurses once per
nesting level, so 1,000 nested `[` raise RecursionError (a 500). These read at most
DATA_UPLOAD_MAX_MEMORY_SIZE (413 beyond it), refuse documents nested deeper than
MAX_JSON_DEPTH, and say what was wrong in a sentence (400). Multipart bodies carry files; their
parser, which also stops oversized uploads, is ingest.upload_limits.MultiPartParser.
"""

import io
import json

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.utils.json import strict_constant

# Far deeper than any document the API takes, and far from the interpreter's recursion limit,
# which a deeper document could still reach later (validation, saving a JSONField).
MAX_JSON_DEPTH = 32


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


def body_too_large() -> PayloadTooLarge:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return PayloadTooLarge(
        f"The request body is over {limit / 2**20:,.1f} MB, the most the API reads outside file uploads. "
        "Send less data per request; files go to /api/v1/uploads/."
    )


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            document = json.loads(read_body(stream).decode(encoding), parse_constant=strict_constant)
        except RecursionError as error:
            raise _too_deep() from error
        except UnicodeDecodeError as error:
            raise ParseError(
                f"The request body is not {encoding} text; send JSON encoded as {encoding}."
            ) from error
        except json.JSONDecodeError as error:
            raise ParseError(
                f"The request body is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}. "
                "Send one JSON document with the header Content-Type: application/json."
            ) from error
        except ValueError as error:  # NaN or Infinity, which JSON does not have
            raise ParseError(f"The request body is not valid JSON: {error}.") from error
        if nesting_depth(document) > MAX_JSON_DEPTH:
            raise _too_deep()
        return document


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return super().parse(io.BytesIO(read_body(stream)), media_type, parser_context)


def read_body(stream) -> bytes:
    """The body, or RequestDataTooBig as soon as it is over the limit (never more is read)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise RequestDataTooBig("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
    return body


def nesting_depth(document) -> int:
    """How deeply arrays and objects nest; iterative, so no document can exhaust the stack here."""
    deepest, pending = 0, [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _too_deep() -> ParseError:
    return ParseError(
        f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep, which no endpoint takes. "
        "Send a flatter document."
    )

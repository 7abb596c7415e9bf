"""One JSON error shape for the whole API: {detail, code, errors: {field: [messages]}}.

Messages are translated in the request's language (LocaleMiddleware reads Accept-Language;
Dutch is the default)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.errors import RuleViolation

# Codes whose HTTP status differs from RuleViolation's 400/409 split.
STATUS_BY_CODE = {
    # RFC 9110 "Unprocessable Content": the key is fine, but it belongs to another request.
    "idempotency_key_reused": 422,
}


def flatten_errors(data, prefix: str = "") -> dict[str, list[str]]:
    """DRF nests errors like its serializers ({"attendees": [{"email": [...]}, {}]}); clients
    want one flat map, so nested fields become dotted paths: "attendees.0.email"."""
    flat: dict[str, list[str]] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key == "non_field_errors" and prefix:
                # An error about a nested object as a whole belongs to that object's field.
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
    elif isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            if data:
                flat[prefix or "non_field_errors"] = [str(item) for item in data]
        else:
            for index, item in enumerate(data):
                flat.update(flatten_errors(item, f"{prefix}.{index}" if prefix else str(index)))
    elif data is not None:
        flat[prefix or "non_field_errors"] = [str(data)]
    return flat


def _summary(errors: dict[str, list[str]]) -> str:
    return " ".join(message for messages in errors.values() for message in messages)


def exception_handler(exc, context):
    """Map domain errors once: every API error is JSON with a message and per-field errors."""
    if isinstance(exc, RuleViolation):
        return Response(
            {
                "detail": str(exc.message),
                "code": exc.code,
                "errors": {k: [str(m) for m in v] for k, v in exc.errors.items()},
            },
            status=STATUS_BY_CODE.get(exc.code, exc.http_status),
        )
    if isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(
            {"detail": _summary(errors), "code": "invalid", "errors": errors},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoPermissionDenied):
        return Response(
            {
                "detail": str(exc) or _("You do not have permission to do this."),
                "code": "forbidden",
                "errors": {},
            },
            status=403,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(response.data)
        response.data = {
            "detail": _("The input is not valid: %(summary)s") % {"summary": _summary(errors)},
            "code": "invalid",
            "errors": errors,
        }
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = exc.get_codes() if hasattr(exc, "get_codes") else getattr(exc, "default_code", "")
        response.data = {
            "detail": str(detail)
            if not isinstance(detail, dict | list)
            else _summary(flatten_errors(detail)),
            "code": code if isinstance(code, str) else getattr(exc, "default_code", "error"),
            "errors": {} if not isinstance(detail, dict | list) else flatten_errors(detail),
        }
    return response

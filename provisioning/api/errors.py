"""One error shape for the whole API::

    {"error": {"code": "invalid", "message": "…", "details": [{"field": "name", "code": "…",
                                                              "message": "…"}]}}

with the right status: 400 invalid input, 401 missing/invalid/revoked/expired token, 403 the role
does not allow it, 404, 405, 409 the operation conflicts with the current state (the service said
no: e.g. turning provisioning on without credentials), 415, 429 with ``Retry-After``, 500.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ..services.applications import ApplicationNameTaken
from ..services.configuration import AssignmentExists
from ..services.operations import OperationRefused

logger = logging.getLogger(__name__)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class NotImplementedYet(APIException):
    status_code = status.HTTP_501_NOT_IMPLEMENTED
    default_detail = "This endpoint is not available in this installation."
    default_code = "not_implemented"


CONFLICTS = (OperationRefused, ApplicationNameTaken, AssignmentExists)


def error_body(code: str, message: str, details: list | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or []}}


def flatten_details(detail, field: str = "") -> list[dict]:
    """DRF's nested error detail as a flat list of {field, code, message}."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            name = field if key in ("non_field_errors", "__all__") else str(key)
            if field and key not in ("non_field_errors", "__all__"):
                name = f"{field}.{key}"
            found.extend(flatten_details(value, name))
        return found
    if isinstance(detail, list):
        found = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                found.extend(flatten_details(value, f"{field}[{index}]" if field else str(index)))
            else:
                found.extend(flatten_details(value, field))
        return found
    return [{"field": field, "code": getattr(detail, "code", "invalid"), "message": str(detail)}]


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied()
    elif isinstance(exc, CONFLICTS):
        exc = Conflict(str(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in the API", exc_info=exc)
        return Response(
            error_body("server_error", _("An unexpected error occurred.")),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, ValidationError):
        details = flatten_details(exc.detail)
        message = _("The request is not valid.")
        if len(details) == 1 and not details[0]["field"]:
            message = details[0]["message"]
        response.data = error_body("invalid", message, details)
    else:
        detail = getattr(exc, "detail", "")
        code = getattr(exc, "default_code", "error")
        details = []
        if isinstance(detail, (dict, list)):
            details = flatten_details(detail)
            message = details[0]["message"] if details else str(exc)
        else:
            message = str(detail) or str(getattr(exc, "default_detail", "")) or code
        if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS:
            code = "throttled"
        response.data = error_body(code, message, details)
    return response

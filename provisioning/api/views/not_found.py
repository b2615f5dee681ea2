"""Unknown paths under /api/v1/: a 404 in the API's error shape."""

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _

from ..errors import error_body


def api_not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("not_found", _("No such API endpoint.")), status=404)

"""The quarantine banner's **Allow deletes** (F23): release the held deletions."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..services.operations import OperationRefused, allow_deletes
from .access import portal_page
from .blade import get_application


@require_POST
@portal_page
def allow_deletes_view(request: HttpRequest, application_id: int) -> HttpResponse:
    application = get_application(application_id)
    try:
        allow_deletes(application.provisioning_job, actor=request.user)
    except OperationRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, _("Deletes allowed: the next cycle performs the held deletions."))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}):
        return redirect(back)
    return redirect("provisioning", application.pk)

"""Directory > Bulk import (F3, F31): upload CSV files, see the all-or-nothing report of
``import_directory`` (every bad row with its reason), confirm, and follow the import.

Both the check and the import run on a Celery worker (``services.directory``); the page polls a
fragment while they run, so a 100,000-row file never holds a web worker.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..forms.directory import DirectoryImportForm
from ..models import DirectoryImport, DirectoryImportState
from ..services import directory
from .access import administrator_page, can_change, portal_page

POLL_SECONDS = 1
RUNNING_STATES = (DirectoryImportState.CHECKING, DirectoryImportState.IMPORTING)


@administrator_page
def import_upload(request: HttpRequest) -> HttpResponse:
    form = DirectoryImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        files = [(upload.name, upload.read()) for upload in form.cleaned_data["files"]]
        upload = directory.upload_directory_import(files, actor=request.user)
        return redirect("directory-import", upload.pk)
    recent = DirectoryImport.objects.select_related("created_by")[:10]
    return render(
        request, "provisioning/directory_import_upload.html", {"form": form, "recent": recent}
    )


@portal_page
def import_status(request: HttpRequest, import_id) -> HttpResponse:
    upload = get_object_or_404(DirectoryImport, pk=import_id)
    context = {
        "upload": upload,
        "running": upload.state in RUNNING_STATES,
        "poll_seconds": POLL_SECONDS,
        "can_change": can_change(request.user),
    }
    if request.htmx:
        return render(request, "provisioning/partials/directory_import_status.html", context)
    return render(request, "provisioning/directory_import.html", context)


@portal_page
def import_progress(request: HttpRequest, import_id) -> JsonResponse:
    """The import's state and progress as JSON, for scripts and tests following an import."""
    upload = get_object_or_404(DirectoryImport, pk=import_id)
    return JsonResponse(
        {
            "state": upload.state,
            "running": upload.state in RUNNING_STATES,
            "phase": upload.phase,
            "done": upload.progress_done,
            "total": upload.progress_total,
            "percent": upload.progress_percent,
            "summary": [str(line) for line in upload.summary or []],
        }
    )


@require_POST
@portal_page
def import_confirm(request: HttpRequest, import_id) -> HttpResponse:
    upload = get_object_or_404(DirectoryImport, pk=import_id)
    if request.POST.get("cancel"):
        directory.cancel_directory_import(upload)
        messages.info(request, _("The import was cancelled; nothing was changed."))
    elif not directory.confirm_directory_import(upload, actor=request.user):
        messages.error(request, _("These files are not ready to be imported."))
    return redirect("directory-import", upload.pk)

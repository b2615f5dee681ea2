"""A CSV import uploaded in the portal (F3, F31): checked, then confirmed, by Celery tasks.

The uploaded files are kept in the database between the check and the confirmation, so any worker
can run either step and a 100,000-row file never occupies a web worker. Files are deleted once the
import has ended.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DirectoryImportState(models.TextChoices):
    CHECKING = "Checking", _("Checking the files")
    REJECTED = "Rejected", _("Rejected")
    READY = "Ready", _("Ready to import")
    IMPORTING = "Importing", _("Importing")
    COMPLETED = "Completed", _("Completed")
    FAILED = "Failed", _("Failed")
    CANCELLED = "Cancelled", _("Cancelled")


class DirectoryImportPhase(models.TextChoices):
    """What the worker is doing, with ``progress_done`` of ``progress_total`` (issue 15)."""

    READING = "reading", _("Reading the rows")
    RESOLVING = "resolving", _("Checking references against the directory")
    WRITING = "writing", _("Writing to the directory")


class DirectoryImport(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file_names = models.JSONField(_("files"), default=list, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    state = models.CharField(
        _("state"),
        max_length=16,
        choices=DirectoryImportState.choices,
        default=DirectoryImportState.CHECKING,
    )
    # Summary lines of the check or of the import, and every rejected row ("file, line: why").
    summary = models.JSONField(_("summary"), default=list, blank=True)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The uploader's language: the worker writes the report in it.
    language = models.CharField(_("language"), max_length=16, blank=True)
    # Progress of the check or the import while a worker runs it, written through a connection
    # of its own (the import's transaction would hide it until the end): the page polls it.
    phase = models.CharField(
        _("phase"), max_length=16, choices=DirectoryImportPhase.choices, blank=True
    )
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("total"), default=0)

    class Meta:
        verbose_name = _("directory import")
        verbose_name_plural = _("directory imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{', '.join(self.file_names)} ({self.state})"

    @property
    def progress_percent(self) -> int:
        """Percent of the current phase done (0 before the worker reported anything)."""
        if not self.progress_total:
            return 0
        return min(100, self.progress_done * 100 // self.progress_total)


class DirectoryImportFile(models.Model):
    directory_import = models.ForeignKey(
        DirectoryImport, on_delete=models.CASCADE, related_name="files"
    )
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=256)
    content = models.BinaryField()

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name

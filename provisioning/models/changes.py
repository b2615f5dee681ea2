"""The directory change log: the monotonic watermark of incremental cycles (F16).

Rows are written by database triggers on users, groups, memberships and assignments (insert,
update and delete), in the same transaction as the change, so bulk writes, raw SQL and cascades
are captured as well. On PostgreSQL the triggers serialise writers on this table before taking the
next sequence value, so sequence order is commit order and a reader that has seen ``seq = n`` can
never later find a committed change with ``seq < n``.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import ChangedObject, ChangeOperation


class DirectoryChange(models.Model):
    seq = models.BigAutoField(primary_key=True)
    changed_object = models.CharField(_("object"), max_length=16, choices=ChangedObject.choices)
    operation = models.CharField(_("operation"), max_length=1, choices=ChangeOperation.choices)
    user_id = models.UUIDField(_("user"), null=True, blank=True)
    group_id = models.UUIDField(_("group"), null=True, blank=True)
    member_group_id = models.UUIDField(_("member group"), null=True, blank=True)
    application_id = models.BigIntegerField(_("application"), null=True, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("directory change")
        verbose_name_plural = _("directory changes")
        ordering = ["seq"]
        indexes = [models.Index(fields=["recorded_at"], name="dirchange_recorded_at")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.get_operation_display()} {self.changed_object}"

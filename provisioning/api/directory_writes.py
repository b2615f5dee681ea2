"""Directory writes of the API: through the directory services of issue 15
(``provisioning.services.directory``: validation, one audit event per change with the token's
channel) when they are installed, else straight through the ORM (the change log's triggers see
those writes all the same).

State conflicts are checked here first, so both paths answer alike: changing or deleting an
object in the recycle bin, restoring one that is not there or was deleted too long ago, adding a
member twice — each a 409.
"""

from datetime import timedelta
from types import ModuleType

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import DirectoryGroup, DirectoryUser, GroupMembership
from .errors import Conflict


def directory_service() -> ModuleType | None:
    try:
        from ..services import directory
    except ImportError:
        return None
    return directory


def _require_alive(obj) -> None:
    if obj.deleted_at is not None:
        raise Conflict(_("The object is in the recycle bin; restore it first."))


def create_user(data: dict, *, actor, channel: str) -> DirectoryUser:
    service = directory_service()
    if service is not None:
        return service.create_user(data, actor=actor, channel=channel)
    return DirectoryUser.objects.create(**data)


def create_group(data: dict, *, actor, channel: str) -> DirectoryGroup:
    service = directory_service()
    if service is not None:
        return service.create_group(data, actor=actor, channel=channel)
    return DirectoryGroup.objects.create(**data)


def update(obj, data: dict, *, actor, channel: str):
    _require_alive(obj)
    service = directory_service()
    if service is not None:
        if isinstance(obj, DirectoryUser):
            service.update_user(obj, data, actor=actor, channel=channel)
        else:
            service.update_group(obj, data, actor=actor, channel=channel)
        obj.refresh_from_db()
        return obj
    for name, value in data.items():
        setattr(obj, name, value)
    obj.save()
    return obj


def soft_delete(obj, *, actor, channel: str) -> None:
    _require_alive(obj)
    service = directory_service()
    if service is None:
        obj.soft_delete()
    elif isinstance(obj, DirectoryUser):
        service.soft_delete_user(obj, actor=actor, channel=channel)
    else:
        service.delete_group(obj, actor=actor, channel=channel)


def restore(obj, *, actor, channel: str) -> None:
    if obj.deleted_at is None:
        raise Conflict(_("The object is not in the recycle bin."))
    oldest = timezone.now() - timedelta(days=settings.DIRECTORY_RECYCLE_BIN_DAYS)
    if obj.deleted_at < oldest:
        raise Conflict(_("The object was deleted too long ago to be restored."))
    service = directory_service()
    if service is not None and isinstance(obj, DirectoryUser):
        service.restore_user(obj, actor=actor, channel=channel)
    else:
        obj.restore()


def _membership_lookup(member) -> dict:
    if isinstance(member, DirectoryUser):
        return {"member_user": member}
    return {"member_group": member}


def add_member(group: DirectoryGroup, member, *, actor, channel: str) -> GroupMembership:
    _require_alive(group)
    if GroupMembership.objects.filter(group=group, **_membership_lookup(member)).exists():
        raise Conflict(_("This member is already in the group."))
    service = directory_service()
    if service is not None:
        return service.add_group_member(group, member, actor=actor, channel=channel)
    with transaction.atomic():
        return GroupMembership.objects.create(group=group, **_membership_lookup(member))


def remove_member(group: DirectoryGroup, member, *, actor, channel: str) -> None:
    service = directory_service()
    if service is not None:
        service.remove_group_member(group, member, actor=actor, channel=channel)
        return
    GroupMembership.objects.filter(group=group, **_membership_lookup(member)).delete()

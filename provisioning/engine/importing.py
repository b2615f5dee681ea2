"""Stage 1, import: read source objects from the directory, in chunks, with what scoping needs.

Each chunk is loaded with a fixed number of queries whatever its size (users, their assignments
direct and through groups, their links), so memory and query counts stay bounded.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..choices import ObjectType
from ..models import Assignment, DirectoryGroup, DirectoryUser, GroupMembership

CHUNK_SIZE = 1000

# Azure attribute name -> DirectoryUser field.
USER_SOURCE_FIELDS = {
    "objectId": "id",
    "userPrincipalName": "user_principal_name",
    "mail": "mail",
    "givenName": "given_name",
    "surname": "surname",
    "displayName": "display_name",
    "jobTitle": "job_title",
    "department": "department",
    "employeeId": "employee_id",
    "mobile": "mobile",
    "country": "country",
    "preferredLanguage": "preferred_language",
    "accountEnabled": "account_enabled",
}
GROUP_SOURCE_FIELDS = {
    "objectId": "id",
    "displayName": "display_name",
    "mail": "mail",
    "mailNickname": "mail_nickname",
    "description": "description",
    "securityEnabled": "security_enabled",
}
# Attributes computed by the engine rather than read from a column.
COMPUTED_USER_ATTRIBUTES = ("manager", "mailNickname", "IsSoftDeleted", "appRoleAssignments")
COMPUTED_GROUP_ATTRIBUTES = ("members", "IsSoftDeleted", "appRoleAssignments")


def known_source_attributes(object_type: str) -> list[str]:
    if object_type == ObjectType.USER:
        return [*USER_SOURCE_FIELDS, *COMPUTED_USER_ATTRIBUTES]
    return [*GROUP_SOURCE_FIELDS, *COMPUTED_GROUP_ATTRIBUTES]


@dataclass
class SourceObject:
    """A directory object as the engine sees it, with Azure attribute names."""

    object_type: str
    source_id: uuid.UUID
    display: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    exists: bool = True  # False: hard-deleted from the directory
    soft_deleted: bool = False
    enabled: bool = True
    assigned: bool = False  # any assignment to the application, valid or not
    roles: list[str] = field(default_factory=list)  # valid app-role values
    manager_id: uuid.UUID | None = None

    @property
    def only_default_access(self) -> bool:
        return self.assigned and not self.roles


def missing_object(object_type: str, source_id: uuid.UUID, display: str = "") -> SourceObject:
    return SourceObject(object_type=object_type, source_id=source_id, display=display, exists=False)


def chunked(items: Iterable, size: int = CHUNK_SIZE) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _role_map(rows: Iterable[tuple]) -> tuple[dict, dict]:
    """rows of (principal id, role value, role name, is default access) -> assigned, roles."""
    assigned: dict[uuid.UUID, bool] = {}
    roles: dict[uuid.UUID, list[str]] = defaultdict(list)
    for principal_id, value, name, is_default in rows:
        assigned[principal_id] = True
        role = value or name
        if not is_default and role not in roles[principal_id]:
            roles[principal_id].append(role)
    return assigned, roles


def load_users(application_id: int, ids: list[uuid.UUID]) -> dict[uuid.UUID, SourceObject]:
    """Load users by id with their valid roles (direct and through assigned groups)."""
    direct = Assignment.objects.filter(application_id=application_id, user_id__in=ids).values_list(
        "user_id", "role__value", "role__name", "role__is_default_access"
    )
    through_groups = GroupMembership.objects.filter(
        member_user_id__in=ids,
        group__deleted_at__isnull=True,
        group__assignments__application_id=application_id,
    ).values_list(
        "member_user_id",
        "group__assignments__role__value",
        "group__assignments__role__name",
        "group__assignments__role__is_default_access",
    )
    assigned, roles = _role_map([*direct, *through_groups])
    objects = {}
    fields = list(USER_SOURCE_FIELDS.values()) + [
        "manager_id",
        "deleted_at",
        "extension_attributes",
    ]
    for row in DirectoryUser.objects.filter(pk__in=ids).values(*fields):
        attributes = {name: row[column] for name, column in USER_SOURCE_FIELDS.items()}
        attributes["objectId"] = str(row["id"])
        attributes["mailNickname"] = row["user_principal_name"].split("@", 1)[0]
        attributes["manager"] = str(row["manager_id"]) if row["manager_id"] else None
        attributes.update(row["extension_attributes"] or {})
        objects[row["id"]] = SourceObject(
            object_type=ObjectType.USER,
            source_id=row["id"],
            display=row["user_principal_name"],
            attributes=attributes,
            soft_deleted=row["deleted_at"] is not None,
            enabled=row["account_enabled"],
            assigned=assigned.get(row["id"], False),
            roles=roles.get(row["id"], []),
            manager_id=row["manager_id"],
        )
    return objects


def load_groups(application_id: int, ids: list[uuid.UUID]) -> dict[uuid.UUID, SourceObject]:
    rows = Assignment.objects.filter(application_id=application_id, group_id__in=ids).values_list(
        "group_id", "role__value", "role__name", "role__is_default_access"
    )
    assigned, roles = _role_map(rows)
    objects = {}
    fields = list(GROUP_SOURCE_FIELDS.values()) + ["deleted_at"]
    for row in DirectoryGroup.objects.filter(pk__in=ids).values(*fields):
        attributes = {name: row[column] for name, column in GROUP_SOURCE_FIELDS.items()}
        attributes["objectId"] = str(row["id"])
        objects[row["id"]] = SourceObject(
            object_type=ObjectType.GROUP,
            source_id=row["id"],
            display=row["display_name"],
            attributes=attributes,
            soft_deleted=row["deleted_at"] is not None,
            assigned=assigned.get(row["id"], False),
            roles=roles.get(row["id"], []),
        )
    return objects


def candidate_user_ids(application_id: int, all_users: bool, linked_ids: Iterable) -> list:
    """Every user an initial cycle must look at: in scope, or linked (to disable or delete)."""
    if all_users:
        ids = set(DirectoryUser.objects.values_list("id", flat=True).iterator(chunk_size=5000))
    else:
        ids = set(
            Assignment.objects.filter(application_id=application_id, user__isnull=False)
            .values_list("user_id", flat=True)
            .iterator(chunk_size=5000)
        )
        ids.update(
            GroupMembership.objects.filter(
                group__assignments__application_id=application_id, member_user__isnull=False
            )
            .values_list("member_user_id", flat=True)
            .iterator(chunk_size=5000)
        )
    ids.update(linked_ids)
    return sorted(ids)


def candidate_group_ids(application_id: int, all_groups: bool, linked_ids: Iterable) -> list:
    if all_groups:
        ids = set(DirectoryGroup.objects.values_list("id", flat=True).iterator(chunk_size=5000))
    else:
        ids = set(
            Assignment.objects.filter(application_id=application_id, group__isnull=False)
            .values_list("group_id", flat=True)
            .iterator(chunk_size=5000)
        )
    ids.update(linked_ids)
    return sorted(ids)

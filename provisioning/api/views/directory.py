"""``directory/users``, ``directory/groups`` and group members: list, get, create, update, soft
delete to the recycle bin, restore.

Written through :mod:`..directory_writes`: the directory services (with their audit events, the
token as channel) when installed, else the ORM. Either way the change log's database triggers
see the writes, so the next incremental cycle picks them up.
"""

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from ...models import DirectoryGroup, DirectoryUser, GroupMembership
from .. import directory_writes
from ..authentication import request_channel
from ..errors import Conflict
from ..pagination import cursor_pagination
from ..serializers import (
    DirectoryGroupSerializer,
    DirectoryUserSerializer,
    GroupMemberSerializer,
    RejectUnknownFields,
)
from .base import ApiView

LIST_PARAMETERS = [
    OpenApiParameter("search", str, description="Name, user principal name or mail contains."),
    OpenApiParameter(
        "deleted", bool, description="true: the recycle bin (soft-deleted objects) instead."
    ),
]


class DirectoryObjectViews:
    model: type
    search_fields: tuple[str, ...]

    def get_queryset(self):
        deleted = self.request.query_params.get("deleted", "").lower() in ("1", "true", "yes")
        objects = self.model.objects.all()
        objects = objects.in_recycle_bin() if deleted else objects.alive()
        search = self.request.query_params.get("search", "").strip()
        if search:
            match = Q()
            for field in self.search_fields:
                match |= Q(**{f"{field}__icontains": search})
            objects = objects.filter(match)
        return objects

    def get_object(self):
        return get_object_or_404(self.model, pk=self.kwargs["object_id"])

    def list_objects(self):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def writer_kwargs(self) -> dict:
        return {"actor": self.request.user, "channel": request_channel(self.request)}

    def create_object(self):
        serializer = self.get_serializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        create = (
            directory_writes.create_user
            if self.model is DirectoryUser
            else directory_writes.create_group
        )
        try:
            with transaction.atomic():
                instance = create(dict(serializer.validated_data), **self.writer_kwargs())
        except IntegrityError:
            raise Conflict(_("An object with these values already exists.")) from None
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    def update_object(self):
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=self.request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            with transaction.atomic():
                instance = directory_writes.update(
                    instance, dict(serializer.validated_data), **self.writer_kwargs()
                )
        except IntegrityError:
            raise Conflict(_("An object with these values already exists.")) from None
        return Response(self.get_serializer(instance).data)

    def soft_delete_object(self):
        directory_writes.soft_delete(self.get_object(), **self.writer_kwargs())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def restore_object(self):
        instance = self.get_object()
        directory_writes.restore(instance, **self.writer_kwargs())
        instance.refresh_from_db()
        return Response(self.get_serializer(instance).data)


class UserViews(DirectoryObjectViews):
    model = DirectoryUser
    search_fields = ("display_name", "user_principal_name", "mail")
    serializer_class = DirectoryUserSerializer
    pagination_class = cursor_pagination("user_principal_name")


class GroupViews(DirectoryObjectViews):
    model = DirectoryGroup
    search_fields = ("display_name", "mail", "mail_nickname")
    serializer_class = DirectoryGroupSerializer
    pagination_class = cursor_pagination("display_name", "id")


class UserList(UserViews, ApiView):
    @extend_schema(
        parameters=LIST_PARAMETERS,
        responses=DirectoryUserSerializer(many=True),
        operation_id="directory_users_list",
        summary="List directory users",
    )
    def get(self, request):
        return self.list_objects()

    @extend_schema(summary="Create a directory user")
    def post(self, request):
        return self.create_object()


class UserDetail(UserViews, ApiView):
    @extend_schema(summary="Get a directory user (also from the recycle bin)")
    def get(self, request, object_id):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Update a directory user (the fields given)")
    def patch(self, request, object_id):
        return self.update_object()

    @extend_schema(responses={204: None}, summary="Soft-delete a user to the recycle bin")
    def delete(self, request, object_id):
        return self.soft_delete_object()


class UserRestore(UserViews, ApiView):
    @extend_schema(request=None, summary="Restore a user from the recycle bin")
    def post(self, request, object_id):
        return self.restore_object()


class GroupList(GroupViews, ApiView):
    @extend_schema(
        parameters=LIST_PARAMETERS,
        responses=DirectoryGroupSerializer(many=True),
        operation_id="directory_groups_list",
        summary="List directory groups",
    )
    def get(self, request):
        return self.list_objects()

    @extend_schema(summary="Create a directory group")
    def post(self, request):
        return self.create_object()


class GroupDetail(GroupViews, ApiView):
    @extend_schema(summary="Get a directory group (also from the recycle bin)")
    def get(self, request, object_id):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(summary="Update a directory group (the fields given)")
    def patch(self, request, object_id):
        return self.update_object()

    @extend_schema(responses={204: None}, summary="Soft-delete a group to the recycle bin")
    def delete(self, request, object_id):
        return self.soft_delete_object()


class GroupRestore(GroupViews, ApiView):
    @extend_schema(request=None, summary="Restore a group from the recycle bin")
    def post(self, request, object_id):
        return self.restore_object()


class MemberInputSerializer(RejectUnknownFields, serializers.Serializer):
    """Exactly one of ``user`` and ``group``: the member to add."""

    user = serializers.UUIDField(required=False)
    group = serializers.UUIDField(required=False)

    def validate(self, data):
        if ("user" in data) == ("group" in data):
            raise serializers.ValidationError(_("Give exactly one of “user” and “group”."))
        return data


class GroupMemberViews:
    serializer_class = GroupMemberSerializer
    pagination_class = cursor_pagination("created_at", "id")

    def get_group(self) -> DirectoryGroup:
        return get_object_or_404(DirectoryGroup, pk=self.kwargs["object_id"])


class GroupMemberList(GroupMemberViews, ApiView):
    @extend_schema(
        responses=GroupMemberSerializer(many=True),
        operation_id="directory_groups_members_list",
        summary="List a group's direct members",
    )
    def get(self, request, object_id):
        memberships = GroupMembership.objects.filter(group=self.get_group()).select_related(
            "member_user", "member_group"
        )
        page = self.paginate_queryset(memberships)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=MemberInputSerializer,
        responses={201: GroupMemberSerializer},
        summary="Add a user or group to the group",
    )
    def post(self, request, object_id):
        group = self.get_group()
        data = MemberInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "user" in data.validated_data:
            member = DirectoryUser.objects.alive().filter(pk=data.validated_data["user"]).first()
            if member is None:
                raise serializers.ValidationError({"user": _("No such user.")})
        else:
            member = DirectoryGroup.objects.alive().filter(pk=data.validated_data["group"]).first()
            if member is None:
                raise serializers.ValidationError({"group": _("No such group.")})
            if member.pk == group.pk:
                raise serializers.ValidationError({"group": _("A group cannot contain itself.")})
        try:
            with transaction.atomic():
                membership = directory_writes.add_member(
                    group, member, actor=request.user, channel=request_channel(request)
                )
        except IntegrityError:
            raise Conflict(_("This member is already in the group.")) from None
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)


class GroupMemberDetail(GroupMemberViews, ApiView):
    @extend_schema(responses={204: None}, summary="Remove a member from the group")
    def delete(self, request, object_id, member_id):
        membership = get_object_or_404(
            GroupMembership,
            Q(member_user_id=member_id) | Q(member_group_id=member_id),
            group=self.get_group(),
        )
        directory_writes.remove_member(
            membership.group,
            membership.member_user or membership.member_group,
            actor=request.user,
            channel=request_channel(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

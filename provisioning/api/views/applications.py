"""Gallery templates, applications and their assignments (F4–F6)."""

from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ...gallery import UnknownTemplate, get_template, search_templates
from ...models import Application, Assignment
from ...services.applications import add_application, remove_application
from ...services.configuration import add_assignment, remove_assignment
from ..pagination import cursor_pagination
from ..serializers import (
    ApplicationCreateSerializer,
    ApplicationSerializer,
    AssignmentCreateSerializer,
    AssignmentSerializer,
    GalleryTemplateSerializer,
)
from .base import ApiView, ApplicationScopedView

SEARCH = OpenApiParameter("search", str, description="Text the name contains.")


class GalleryList(ApiView):
    serializer_class = GalleryTemplateSerializer
    pagination_class = None

    @extend_schema(
        parameters=[SEARCH],
        responses=GalleryTemplateSerializer(many=True),
        operation_id="gallery_list",
        summary="List the gallery's templates",
    )
    def get(self, request):
        templates = search_templates(request.query_params.get("search", ""))
        return Response(self.get_serializer(templates, many=True).data)


class GalleryDetail(ApiView):
    serializer_class = GalleryTemplateSerializer

    @extend_schema(summary="Get a gallery template")
    def get(self, request, slug: str):
        try:
            template = get_template(slug)
        except UnknownTemplate:
            raise Http404 from None
        return Response(self.get_serializer(template).data)


def applications():
    return Application.objects.select_related("provisioning_job").prefetch_related("roles")


class ApplicationList(ApiView):
    serializer_class = ApplicationSerializer
    pagination_class = cursor_pagination("name")

    def get_queryset(self):
        queryset = applications()
        search = self.request.query_params.get("search", "").strip()
        if search:
            queryset = queryset.filter(Q(name__icontains=search) | Q(template_slug=search))
        return queryset

    @extend_schema(
        parameters=[SEARCH],
        responses=ApplicationSerializer(many=True),
        operation_id="applications_list",
        summary="List applications",
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=ApplicationCreateSerializer,
        responses={201: ApplicationSerializer},
        summary="Add an application from a gallery template",
    )
    def post(self, request):
        data = ApplicationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with self.audited():
            application = add_application(
                data.validated_data["template"],
                data.validated_data.get("name") or None,
                actor=request.user,
            )
        application = applications().get(pk=application.pk)
        return Response(self.get_serializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationDetail(ApplicationScopedView):
    serializer_class = ApplicationSerializer

    @extend_schema(summary="Get an application")
    def get(self, request, application_id: int):
        return Response(self.get_serializer(self.get_application()).data)

    @extend_schema(responses={204: None}, summary="Delete an application")
    def delete(self, request, application_id: int):
        with self.audited():
            remove_application(self.get_application(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AssignmentList(ApplicationScopedView):
    serializer_class = AssignmentSerializer
    pagination_class = cursor_pagination("created_at", "id")

    def get_queryset(self):
        return Assignment.objects.filter(application=self.get_application()).select_related(
            "user", "group", "role"
        )

    @extend_schema(
        responses=AssignmentSerializer(many=True),
        operation_id="applications_assignments_list",
        summary="List the application's assignments",
    )
    def get(self, request, application_id: int):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        request=AssignmentCreateSerializer,
        responses={201: AssignmentSerializer},
        summary="Assign a user or group with an app role",
        description="“Default Access” is accepted, as in the portal, and the assignment is "
        "answered with valid_for_provisioning false.",
    )
    def post(self, request, application_id: int):
        application = self.get_application()
        data = AssignmentCreateSerializer(data=request.data, context={"application": application})
        data.is_valid(raise_exception=True)
        with self.audited():
            assignment = add_assignment(
                application,
                data.validated_data["principal"],
                data.validated_data["role"],
                actor=request.user,
            )
        return Response(self.get_serializer(assignment).data, status=status.HTTP_201_CREATED)


class AssignmentDetail(ApplicationScopedView):
    serializer_class = AssignmentSerializer

    def get_object(self) -> Assignment:
        return get_object_or_404(
            Assignment.objects.select_related("user", "group", "role", "application"),
            pk=self.kwargs["assignment_id"],
            application=self.get_application(),
        )

    @extend_schema(summary="Get an assignment")
    def get(self, request, application_id: int, assignment_id: int):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(responses={204: None}, summary="Remove an assignment")
    def delete(self, request, application_id: int, assignment_id: int):
        assignment = self.get_object()
        with self.audited():
            remove_assignment(assignment, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""What every API view shares: the application lookup and the audit channel of its writes."""

from contextlib import AbstractContextManager

from django.shortcuts import get_object_or_404
from rest_framework.generics import GenericAPIView

from ...models import Application
from ...services.audit import audit_channel
from ..authentication import request_channel


class ApiView(GenericAPIView):
    def audited(self) -> AbstractContextManager:
        """Around a service call: its audit events get this request's channel."""
        return audit_channel(request_channel(self.request))


# A view under /applications/{application_id}/ (no docstring: it would become every
# operation's description in the OpenAPI document).
class ApplicationScopedView(ApiView):
    def get_application(self) -> Application:
        if not hasattr(self, "_application"):
            self._application = get_object_or_404(
                Application.objects.select_related("provisioning_job"),
                pk=self.kwargs["application_id"],
            )
        return self._application

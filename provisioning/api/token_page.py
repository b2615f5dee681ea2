"""The API tokens page under the user menu: create (name and expiry; the token is shown once),
list with last use, revoke. Every portal user with a role manages their own tokens; a token
carries its owner's role."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..models import ApiToken
from ..views.access import can_change, can_read, sign_in_required

EXPIRY_CHOICES = [
    ("7", gettext_lazy("7 days")),
    ("30", gettext_lazy("30 days")),
    ("90", gettext_lazy("90 days")),
    ("180", gettext_lazy("180 days")),
    ("365", gettext_lazy("1 year")),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=64,
        help_text=gettext_lazy("What the token is for; the audit log shows it as api:<name>."),
    )
    expires_in_days = forms.ChoiceField(
        label=gettext_lazy("Expires after"), choices=EXPIRY_CHOICES, initial="90"
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter a name."), code="required")
        if ApiToken.objects.filter(user=self.user, name=name).exists():
            raise forms.ValidationError(
                _("You already have a token named “%(name)s”.") % {"name": name}, code="taken"
            )
        return name


def _may_use_api(user) -> bool:
    return can_read(user) or can_change(user)


@sign_in_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    if not _may_use_api(request.user):
        raise PermissionDenied
    created_plain = None
    if request.method == "POST":
        form = ApiTokenForm(request.POST, user=request.user)
        if form.is_valid():
            days = int(form.cleaned_data["expires_in_days"])
            _token, created_plain = ApiToken.issue(
                request.user, form.cleaned_data["name"], timezone.now() + timedelta(days=days)
            )
            form = ApiTokenForm(user=request.user)
    else:
        form = ApiTokenForm(user=request.user)
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "tokens": ApiToken.objects.filter(user=request.user),
            "created_plain": created_plain,
            "read_only": not can_change(request.user),
        },
    )
    if created_plain:
        response["Cache-Control"] = "no-store"
    return response


@sign_in_required
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    if request.method != "POST":
        return redirect("api-tokens")
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token.revoke()
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("api-tokens")


urlpatterns = [
    path("api-tokens/", api_tokens, name="api-tokens"),
    path("api-tokens/<int:token_id>/revoke/", revoke_api_token, name="api-token-revoke"),
]

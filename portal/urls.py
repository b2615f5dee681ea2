"""URL configuration: the Django admin, sign-in, and the portal pages."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from provisioning.security import oidc, signin
from provisioning.views import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", signin.PortalLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("oidc/authenticate/", oidc.SignInWithProvider.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.ProviderCallback.as_view(), name="oidc_authentication_callback"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include("provisioning.api.urls")),
    path("account/", include("provisioning.api.token_page")),
    path("", include("provisioning.urls")),
]

handler500 = "portal.error_pages.render_server_error"

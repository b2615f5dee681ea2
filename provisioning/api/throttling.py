"""Rate limiting per token (DRF throttling): ``API_THROTTLE_RATE`` per token (or per signed-in
browser user), ``API_ANONYMOUS_THROTTLE_RATE`` per address for the anonymous endpoints (the
OpenAPI document and docs). A refused request gets 429 with ``Retry-After`` in seconds.

The rates are read at each request (not at import, as DRF's own throttles do), so operators and
tests can change them through settings.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def __init__(self) -> None:  # the rate depends on the request; see allow_request
        pass

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiToken):
            identity = f"token:{request.auth.pk}"
        elif request.user is not None and request.user.is_authenticated:
            identity = f"user:{request.user.pk}"
        else:
            identity = f"address:{self.get_ident(request)}"
        return f"throttle_{self.scope}_{identity}"

    def allow_request(self, request, view) -> bool:
        authenticated = request.user is not None and request.user.is_authenticated
        self.scope = "api" if authenticated else "api_anonymous"
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

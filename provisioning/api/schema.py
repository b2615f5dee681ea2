"""The OpenAPI description of the error answers every operation can give, in the one shape of
:mod:`.errors`, so generated clients know them."""

from drf_spectacular.openapi import AutoSchema

from .serializers import ErrorSerializer

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: every problem in error.details.",
    "401": "No token, or an unknown, revoked or expired one.",
    "403": "The token's role does not allow this (auditors only read).",
    "404": "No such object.",
    "409": "The operation conflicts with the current state.",
    "429": "Over the rate limit; see Retry-After.",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class PortalAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        if not self.path.startswith("/api/v1/") or self.path.startswith("/api/v1/schema"):
            return responses
        codes = ["400", "401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if self.method in WRITE_METHODS:
            codes.append("409")
        for code in codes:
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses

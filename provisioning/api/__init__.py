"""The REST API under /api/v1/ (issue 14), shaped after Microsoft Graph's synchronization API.

A boundary like ``connectors.base``: serializers turn the domain into plain JSON and back and never
carry a secret out (credentials appear as names with ``stored: true/false``); views authenticate
(a bearer API token or the browser's session with CSRF), check the portal role (auditors read,
administrators change), then call the same service functions as the pages, inside
``audit_channel("api:<token name>")`` so each write records the audit event the page would, with
the API token as its channel. Every error has one shape: ``{"error": {"code", "message",
"details": [...]}}`` (:mod:`.errors`).
"""

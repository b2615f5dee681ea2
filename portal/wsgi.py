"""WSGI entry point."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()

# Refuse to serve with encryption keys that cannot read the stored credentials (issue 12).
from provisioning.security.checks import refuse_to_start_on_bad_keys  # noqa: E402

refuse_to_start_on_bad_keys()

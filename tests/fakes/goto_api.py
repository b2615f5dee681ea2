"""The fake of GoTo's API, for tests: it lives in the product (``make run`` starts it as the
demo target), see :mod:`provisioning.demo.goto_api` for what it does and where each
behaviour is documented."""

from provisioning.demo.goto_api import (  # noqa: F401
    API_PREFIX,
    AUTHORIZE_PATH,
    FAKE_ADMIN_EMAIL,
    FAKE_ADMIN_PASSWORD,
    FAKE_CLIENT_ID,
    FAKE_CLIENT_SECRET,
    KNOWN_ADMIN_ROLES,
    LEGACY_TOKEN_PATH,
    TEAM_ADMIN_ROLES,
    TOKEN_PATH,
    FakeAccount,
    FakeAdmin,
    FakeGoTo,
    FakeLicence,
    VirtualClock,
    start_fake_goto,
)

"""The production image and compose file (issue 12, items 10–11), read as text: they cannot run
here (no Docker), so their contract is checked line by line; tests/e2e/test_production.py runs
the same configuration without Docker."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
COMPOSE = (ROOT / "docker" / "compose.yml").read_text()


def compose_services() -> dict[str, str]:
    """Each service's block of text (two-space indented keys under ``services:``)."""
    body = COMPOSE.split("\nservices:\n", 1)[1].split("\nvolumes:", 1)[0]
    blocks: dict[str, str] = {}
    name = None
    for line in body.splitlines():
        match = re.match(r"^  ([a-z_-]+):\s*$", line)
        if match:
            name = match.group(1)
            blocks[name] = ""
        elif name:
            blocks[name] += line + "\n"
    return blocks


def test_collectstatic_failing_fails_the_image_build():
    assert "|| true" not in DOCKERFILE
    assert "2>/dev/null" not in DOCKERFILE
    assert "manage.py collectstatic --noinput" in DOCKERFILE


def test_gunicorn_and_whitenoise_are_pinned_requirements_not_ad_hoc_installs():
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^gunicorn==\d", requirements, re.M)
    assert re.search(r"^whitenoise==\d", requirements, re.M)
    assert "pip install --no-cache-dir -r requirements.txt\n" in DOCKERFILE


def test_compose_allows_no_wildcard_host_and_checks_every_long_running_service():
    assert "ALLOWED_HOSTS:" not in COMPOSE  # it comes from .env, never a wildcard here
    services = compose_services()
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert "healthcheck:" in services[name] and "test:" in services[name], name
    # The one-shot migration job has no health to check; the others wait for it to succeed.
    assert "service_completed_successfully" in COMPOSE


def test_worker_and_beat_restart_on_failure():
    anchor = COMPOSE.split("\nservices:\n", 1)[0]
    assert "restart: on-failure" in anchor
    services = compose_services()
    for name in ("worker", "beat", "web"):
        assert "<<: *portal" in services[name]
        assert "restart:" not in services[name], name


def test_env_example_documents_every_required_production_variable():
    example = (ROOT / ".env.example").read_text()
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "EMAIL_URL", "DEBUG"):
        assert re.search(rf"^#?\s*{name}=", example, re.M), name
    assert "DEBUG=false" in example

"""With DEBUG off the portal refuses to start without real keys."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_django(tmp_path, **overrides) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DEBUG")
    }
    env.update(PORTAL_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="portal.settings", **overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = start_django(tmp_path, DEBUG="false", FIELD_ENCRYPTION_KEYS="x" * 43 + "=")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_encryption_keys(tmp_path):
    result = start_django(tmp_path, DEBUG="false", SECRET_KEY="a-real-production-secret-key")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_development_generates_its_keys_under_var_once(tmp_path):
    assert start_django(tmp_path).stdout.strip() == "started"
    key = (tmp_path / "field-encryption.key").read_text()
    secret = (tmp_path / "secret.key").read_text()
    assert start_django(tmp_path).returncode == 0
    assert (tmp_path / "field-encryption.key").read_text() == key
    assert (tmp_path / "secret.key").read_text() == secret
    assert oct((tmp_path / "field-encryption.key").stat().st_mode & 0o777) == "0o600"

from provisioning.security.redaction import REDACTED, redact


def test_secret_keys_are_redacted_at_any_depth_and_other_values_kept():
    value = {
        "tenant_url": "https://x.example",
        "secret_token": "abc",
        "nested": [{"admin_password": "p", "name": "n"}],
        "custom": "v",
    }
    assert redact(value, extra_secret_keys=["custom"]) == {
        "tenant_url": "https://x.example",
        "secret_token": REDACTED,
        "nested": [{"admin_password": REDACTED, "name": "n"}],
        "custom": REDACTED,
    }


def test_empty_secrets_stay_empty_so_the_audit_shows_that_none_was_set():
    assert redact({"secret_token": ""}) == {"secret_token": ""}

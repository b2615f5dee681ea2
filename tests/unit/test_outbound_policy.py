"""The outbound address policy, the answer size cap and what is shown of a non-SCIM reply
(issue 12, items 4–5), over real loopback sockets: a recording HTTP server tells whether a
request reached it at all."""

import http.server
import threading
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.connectors import build_connector
from provisioning.connectors.errors import ConfigurationError
from provisioning.connectors.http import HttpClient, build_session
from provisioning.roles import ensure_roles
from provisioning.security.outbound import (
    ResponseTooLarge,
    TargetAddressRefused,
    address_allowed,
)
from tests.factories import make_application

TOKEN = "outbound-secret-token-42"


class Recorder(http.server.ThreadingHTTPServer):
    """Answers every GET with ``self.reply`` (status, content type, body) and records it."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.reply: tuple[int, str, bytes] = (200, "application/scim+json", b"{}")
        self.chunked = False
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                server.seen.append((self.path, self.headers.get("Authorization") or ""))
                status, content_type, body = server.reply
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if server.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    step = 256 * 1024
                    try:
                        for start in range(0, len(body), step):
                            piece = body[start : start + step]
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                        self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        pass  # the client hung up once it had enough: what the cap does
                    return
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def production_policy(settings):
    settings.PROVISIONING_ALLOWED_TARGET_NETWORKS = []


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # cloud metadata (AWS, Azure, GCP)
        "fd00:ec2::254",  # AWS metadata over IPv6 (unique local)
        "fe80::1",
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "::ffff:127.0.0.1",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "fc00::1",
        "0.0.0.0",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused_unless_allowed(address):
    assert not address_allowed(address, [])


def test_public_addresses_and_allowed_networks_pass():
    import ipaddress

    assert address_allowed("8.8.8.8", [])
    assert address_allowed("2606:4700::1111", [])
    assert address_allowed("10.1.2.3", [ipaddress.ip_network("10.0.0.0/8")])
    assert not address_allowed("10.1.2.3", [ipaddress.ip_network("192.168.0.0/16")])


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "0x7f000001", "2130706433", "0177.0.0.1", "localhost", "127.1"],
)
def test_every_spelling_of_loopback_is_refused_before_any_request(
    production_policy, recorder, host
):
    client = HttpClient(default_headers={"Authorization": f"Bearer {TOKEN}"})
    with pytest.raises(TargetAddressRefused) as refused:
        client.request("GET", f"http://{host}:{recorder.port}/scim/v2/Users")
    assert "PROVISIONING_ALLOWED_TARGET_NETWORKS" in refused.value.message
    assert isinstance(refused.value, ConfigurationError)
    assert recorder.seen == []


def test_the_connection_is_made_to_the_address_that_was_checked(settings, recorder):
    """Allowing only 127.0.0.2 lets a host resolving to 127.0.0.1 through neither at check time
    nor at connect time: the guard checks each address it connects to."""
    settings.PROVISIONING_ALLOWED_TARGET_NETWORKS = ["127.0.0.2/32"]
    session = build_session()
    with pytest.raises(TargetAddressRefused):
        session.get(f"http://localhost:{recorder.port}/", timeout=5)
    settings.PROVISIONING_ALLOWED_TARGET_NETWORKS = ["127.0.0.1/32"]
    assert session.get(f"http://localhost:{recorder.port}/", timeout=5).status_code == 200
    assert len(recorder.seen) == 1


def test_the_development_default_allows_loopback(recorder):
    response = HttpClient().request("GET", f"http://127.0.0.1:{recorder.port}/ok")
    assert response.status == 200
    assert recorder.seen == [("/ok", "")]


@pytest.mark.django_db
def test_test_connection_to_a_decimal_ip_is_refused_and_shows_why(
    production_policy, recorder, client
):
    administrators, _ = ensure_roles()
    user = get_user_model().objects.create_user(username="ssrf")
    user.groups.add(administrators)
    client.force_login(user)
    app = make_application("scim", "Metadata")
    response = client.post(
        reverse("test-connection", args=[app.pk]),
        {
            "mode": "Automatic",
            "credential_tenant_url": f"http://2130706433:{recorder.port}/scim/v2",
            "credential_secret_token": TOKEN,
            "deletion_threshold": "500",
            "scope": "assigned",
            "interval_minutes": "20",
            "status": "off",
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Testing connection failed." in html
    assert "a private, loopback or link-local address" in html
    assert recorder.seen == []


def test_a_cycles_connector_refuses_a_private_target_too(production_policy, recorder):
    connector = build_connector(
        "scim", {"tenant_url": f"http://127.0.0.1:{recorder.port}/scim/v2", "secret_token": TOKEN}
    )
    with connector, pytest.raises(TargetAddressRefused):
        connector.find("User", "userName", "someone@contoso.example")
    assert recorder.seen == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_answer_larger_than_the_cap_is_refused(settings, recorder, chunked):
    settings.PROVISIONING_MAX_RESPONSE_BYTES = 1024 * 1024
    recorder.reply = (200, "application/scim+json", b"[" + b"0," * (3 * 1024 * 1024) + b"0]")
    recorder.chunked = chunked
    with pytest.raises(ResponseTooLarge) as too_large:
        HttpClient().request("GET", f"http://127.0.0.1:{recorder.port}/big")
    assert "larger than 1048576 bytes" in too_large.value.message


def test_an_answer_under_the_cap_is_read_whole(settings, recorder):
    settings.PROVISIONING_MAX_RESPONSE_BYTES = 1024 * 1024
    body = b"x" * (1024 * 1024)
    recorder.reply = (200, "text/plain", body)
    recorder.chunked = True
    assert HttpClient().request("GET", f"http://127.0.0.1:{recorder.port}/ok").content == body


def test_a_non_scim_reply_is_shown_as_status_type_and_a_short_escaped_excerpt(recorder):
    page = (
        "<html><script>alert('x')</script>\x1b[31mforged\r\nINFO log line\u202e"
        + "secret-internal-page " * 500
        + "</html>"
    ).encode()
    recorder.reply = (502, "text/html; charset=utf-8", page)
    connector = build_connector(
        "scim", {"tenant_url": f"http://127.0.0.1:{recorder.port}/scim/v2", "secret_token": TOKEN}
    )
    with connector:
        result = connector.test_connection()
    assert not result.ok
    assert result.detail.startswith(f"HTTP 502, text/html, {len(page)} bytes: <html>")
    assert len(result.detail) < 300
    assert "\x1b" not in result.detail and "\r" not in result.detail
    assert "\u202e" not in result.detail and "\\u202e" in result.detail
    assert result.detail.count("secret-internal-page") < 10


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["localhost", "169.254.169.254", "10.0.0.1", "[::1]"])
def test_saving_a_tenant_url_at_a_refused_address_is_a_form_error(production_policy, client, host):
    administrators, _ = ensure_roles()
    user = get_user_model().objects.create_user(username="ssrf-save")
    user.groups.add(administrators)
    client.force_login(user)
    app = make_application("scim", "Internal")
    response = client.post(
        reverse("provisioning", args=[app.pk]),
        {
            "mode": "Automatic",
            "credential_tenant_url": f"http://{host}:8080/scim/v2",
            "credential_secret_token": TOKEN,
            "deletion_threshold": "500",
            "scope": "assigned",
            "interval_minutes": "20",
            "status": "off",
        },
    )
    assert response.status_code == 200
    assert "PROVISIONING_ALLOWED_TARGET_NETWORKS" in response.content.decode()
    app.provisioning_job.refresh_from_db()
    assert app.provisioning_job.credentials == {}

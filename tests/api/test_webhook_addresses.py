"""Webhooks must not reach inside: an attacker registered http://169.254.169.254/latest/meta-data/
and http://127.0.0.1:8011/admin/ and read the status codes back from its delivery log.

With production's rules (https, public addresses only) such URLs are refused at registration,
every host is resolved and checked again at delivery and the connection goes to the checked
address, redirects are not followed, and the partner's log shows no more than success, a
failure class and its own endpoint's status code."""

import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ValidationError

from loans.api import webhook_addresses
from loans.api.models import WebhookDelivery, WebhookEndpoint
from loans.api.webhook_addresses import blocked_reason, ip_literal, validate_webhook_url
from loans.api.webhooks import delivery_attempt

from .test_auth_and_errors import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_rules(settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False


@pytest.fixture
def public_only(settings):
    """Public addresses only, but http allowed: the test receivers speak plain HTTP."""
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what reaches it."""

    def __init__(self, status=200, location=None):
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(dict(self.headers))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                body = b"internal secrets the partner must not read"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made = []

    def make(**kwargs):
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def deliver_to(partner, url) -> WebhookDelivery:
    """A delivery to ``url`` (stored as if registered while its name resolved elsewhere), sent once."""
    endpoint = WebhookEndpoint.objects.create(partner=partner, url=url)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type="loan.overdue", payload={"loan_id": 1})
    delivery_attempt(delivery.pk)
    delivery.refresh_from_db()
    return delivery


def fake_dns(monkeypatch, answers: dict[str, list[str]]):
    """Stands in for DNS (these names exist nowhere); counts the lookups."""
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        if host not in answers or not answers[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = answers[host].pop(0)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(webhook_addresses, "_getaddrinfo", getaddrinfo)
    return lookups


# --- registration ---------------------------------------------------------------------------


REFUSED = [
    "http://hooks.partner.example/sme",  # not https
    "https://169.254.169.254/latest/meta-data/",
    "https://127.0.0.1:8011/admin/",
    "https://localhost/hooks",
    "https://LOCALHOST./hooks",
    "https://api.localhost/hooks",
    "https://ｌｏｃａｌｈｏｓｔ/hooks",  # fullwidth: a resolver maps it to localhost
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://intranet/hooks",  # one label: resolved through the search domains, inside
    "https://10.1.2.3/", "https://172.16.0.1/", "https://192.168.1.1/", "https://100.64.0.1/",
    "https://0.0.0.0/", "https://224.0.0.1/", "https://240.0.0.1/", "https://255.255.255.255/",
    "https://[::1]/", "https://[::]/", "https://[fe80::1]/", "https://[fc00::1]/", "https://[ff02::1]/",
    "https://[::ffff:127.0.0.1]/", "https://[::ffff:a9fe:a9fe]/", "https://[2002:7f00:1::]/",
    "https://[64:ff9b::a9fe:a9fe]/", "https://[fec0::1]/",
    "https://2130706433/", "https://0x7f000001/", "https://017700000001/", "https://0x7f.1/", "https://127.1/",
    "https://user:secret@hooks.partner.example/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_a_url_that_plainly_points_inside_is_refused_at_registration(api, production_rules, url):
    r = api.post("/api/v1/webhook-endpoints/", {"url": url}, format="json")
    error = assert_error(r, 400, "validation_error")
    assert list(error["fields"]) == ["url"], error
    assert WebhookEndpoint.objects.count() == 0


@pytest.mark.parametrize("url", REFUSED)
def test_the_address_rules_refuse_them_themselves(production_rules, url):
    # Django's URL validator refuses some of these spellings anyway; the rules must not rely on it
    # (the admin, and anything that saves an endpoint, runs them as the field's validator).
    with pytest.raises(ValidationError):
        validate_webhook_url(url)
    with pytest.raises(ValidationError) as exc:
        WebhookEndpoint(partner_id=1, url=url).full_clean(exclude=["partner"])
    assert "url" in exc.value.message_dict


@pytest.mark.parametrize(
    "url", ["https://hooks.partner.example/sme?x=1", "https://93.184.215.14/hook", "https://[2606:4700::1111]:8443/h"]
)
def test_a_public_https_url_is_accepted(api, production_rules, url):
    r = api.post("/api/v1/webhook-endpoints/", {"url": url}, format="json")
    assert r.status_code == 201, r.json()


@pytest.mark.parametrize(
    "spelling", ["127.0.0.1", "2130706433", "0x7f000001", "017700000001", "0x7f.1", "127.1", "0177.0.0.1", "::ffff:7f00:1"]
)
def test_every_spelling_of_an_address_is_read_as_the_address(spelling):
    ip = ip_literal(spelling)
    assert ip is not None and blocked_reason(ip)
    assert ip_literal("93.184.215.14") == ipaddress.ip_address("93.184.215.14")
    assert blocked_reason(ipaddress.ip_address("93.184.215.14")) is None
    assert blocked_reason(ipaddress.ip_address("64:ff9b::5db8:d70e")) is None  # NAT64 of a public address
    assert ip_literal("1e100.net") is None and ip_literal("123.cafe") is None


def test_local_settings_accept_the_quick_starts_receiver(api, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    r = api.post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:9000/hooks"}, format="json")
    assert r.status_code == 201, r.json()


# --- delivery ---------------------------------------------------------------------------------


def test_a_name_resolving_to_loopback_is_blocked_at_delivery(partner, public_only, receivers):
    # given an endpoint whose name (really) resolves to this machine, where something listens
    receiver = receivers()
    # when an event is delivered
    delivery = deliver_to(partner, f"http://localhost:{receiver.port}/hooks")
    # then nothing was sent, and the partner learns only that the address was refused
    assert receiver.received == []
    assert delivery.last_failure == "blocked_address" and delivery.last_response_code is None
    assert delivery.status == "pending"


def test_dns_rebinding_is_caught_at_delivery(partner, public_only, receivers, monkeypatch):
    # given a name that resolved to a public address when it was registered …
    receiver = receivers()
    fake_dns(monkeypatch, {"hooks.partner.example": ["10.0.0.7"]})
    # … and now resolves to a private one
    delivery = deliver_to(partner, f"http://hooks.partner.example:{receiver.port}/hooks")
    assert delivery.last_failure == "blocked_address" and receiver.received == []
    assert "10.0.0.7" in delivery.last_error  # for the lender's staff


def test_a_name_with_one_private_address_among_public_ones_is_blocked(partner, public_only, monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(webhook_addresses, "_getaddrinfo", getaddrinfo)
    assert deliver_to(partner, "http://hooks.partner.example/hooks").last_failure == "blocked_address"


def test_delivery_connects_to_the_address_it_checked(partner, settings, receivers, monkeypatch):
    # given a name that resolves once to the receiver, and to somewhere else after that
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    receiver = receivers()
    lookups = fake_dns(monkeypatch, {"hooks.partner.example": ["127.0.0.1", "10.255.255.1"]})
    # when an event is delivered
    delivery = deliver_to(partner, f"http://hooks.partner.example:{receiver.port}/hooks")
    # then it was looked up once and sent to that address, under its name
    assert lookups == ["hooks.partner.example"]
    assert delivery.status == "succeeded" and delivery.last_failure == ""
    assert receiver.received[0]["Host"] == f"hooks.partner.example:{receiver.port}"


def test_when_one_checked_address_refuses_the_next_is_tried(partner, settings, receivers, monkeypatch):
    # given a name with two addresses, where only the second listens (as localhost's ::1 and
    # 127.0.0.1 may be)
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    receiver = receivers()
    lookups = []

    def getaddrinfo(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in ("127.0.0.2", "127.0.0.1")]

    monkeypatch.setattr(webhook_addresses, "_getaddrinfo", getaddrinfo)
    # when delivered, the second address gets it, from the one lookup
    delivery = deliver_to(partner, f"http://hooks.partner.example:{receiver.port}/hooks")
    assert delivery.status == "succeeded" and len(receiver.received) == 1 and lookups == ["hooks.partner.example"]


def test_redirects_are_not_followed(partner, receivers):
    inside = receivers()
    redirecting = receivers(status=302, location=inside.url)
    delivery = deliver_to(partner, redirecting.url)
    assert len(redirecting.received) == 1 and inside.received == []
    assert delivery.last_failure == "non_2xx" and delivery.last_response_code == 302


def test_failure_classes(partner, receivers, monkeypatch):
    # connection refused: nothing listens
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    assert deliver_to(partner, f"http://127.0.0.1:{closed_port}/h").last_failure == "connection_refused"
    # timeout: a socket that accepts and never answers
    monkeypatch.setattr("loans.api.webhooks.TIMEOUT_SECONDS", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        assert deliver_to(partner, f"http://127.0.0.1:{silent.getsockname()[1]}/h").last_failure == "timeout"
    # TLS: an https URL to a server that speaks plain HTTP
    plain = receivers()
    assert deliver_to(partner, f"https://127.0.0.1:{plain.port}/h").last_failure == "tls_error"
    # a name that does not resolve
    fake_dns(monkeypatch, {})
    assert deliver_to(partner, "http://nowhere.partner.example/h").last_failure == "dns_error"
    # the endpoint's own answer
    failing = receivers(status=503)
    delivery = deliver_to(partner, failing.url)
    assert delivery.last_failure == "non_2xx" and delivery.last_response_code == 503


def test_an_http_endpoint_is_not_sent_to_when_https_is_required(partner, settings, receivers):
    receiver = receivers()
    settings.WEBHOOK_REQUIRE_HTTPS = True
    delivery = deliver_to(partner, receiver.url)
    assert delivery.last_failure == "https_required" and receiver.received == []


def test_the_partners_delivery_log_shows_no_internal_detail(api, partner, public_only, receivers, monkeypatch):
    # given deliveries blocked at an internal address and refused by the partner's endpoint
    fake_dns(monkeypatch, {"hooks.partner.example": ["10.0.0.7"]})
    deliver_to(partner, "http://hooks.partner.example:8011/admin/")
    # when the partner reads its log
    r = api.get("/api/v1/webhook-deliveries/")
    # then it sees the class of failure and nothing of the address or the error text
    assert r.status_code == 200
    entry = r.json()["results"][0]
    assert entry["last_failure"] == "blocked_address" and entry["last_response_code"] is None
    assert "last_error" not in entry
    assert "10.0.0.7" not in r.content.decode()


# --- TLS to a pinned address --------------------------------------------------------------------


def _certificate(tmp_path, name: str):
    """A throwaway CA and a server certificate for ``name``: (ca file, cert file, key file)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
        .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return files


@pytest.fixture
def tls_receiver(tmp_path, receivers, monkeypatch):
    """The receiver behind TLS with a certificate for hooks.partner.example, whose CA is trusted."""
    import ssl

    ca, cert, key = _certificate(tmp_path, "hooks.partner.example")
    receiver = receivers()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    monkeypatch.setattr(webhook_addresses.certs, "where", lambda: str(ca))
    return receiver


def test_tls_to_the_checked_address_verifies_the_certificate_for_the_name(partner, settings, tls_receiver, monkeypatch):
    # given production's https rule, and a name that resolves once to the receiver
    settings.WEBHOOK_REQUIRE_HTTPS = True
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    fake_dns(monkeypatch, {"hooks.partner.example": ["127.0.0.1"], "other.partner.example": ["127.0.0.1"]})
    # when delivered under the certificate's name, it is sent (SNI and the check use the name)
    ok = deliver_to(partner, f"https://hooks.partner.example:{tls_receiver.port}/hooks")
    assert ok.status == "succeeded" and tls_receiver.received[0]["Host"] == f"hooks.partner.example:{tls_receiver.port}"
    # and under another name that reaches the same address, the certificate does not match
    wrong = deliver_to(partner, f"https://other.partner.example:{tls_receiver.port}/hooks")
    assert wrong.last_failure == "tls_error" and len(tls_receiver.received) == 1

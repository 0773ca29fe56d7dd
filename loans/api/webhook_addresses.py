"""Where a partner's webhook may point, and a POST that goes only there.

A webhook makes the server send requests to an address the partner chose, and tells the
partner how each went: without limits, a port scanner of the lender's own network (an
attacker registered ``http://169.254.169.254/latest/meta-data/`` and read back status codes).
So, unless the settings relax it for a developer machine:

- at registration (:func:`validate_webhook_url`, the URL field's validator in the API and the
  admin) the URL must be https, carry no credentials, and its host must not plainly be local:
  an IP literal in any spelling the resolver accepts (dotted, decimal ``2130706433``, octal
  ``0177.0.0.1``, hex ``0x7f.1``, IPv6 incl. IPv4-mapped ``::ffff:127.0.0.1``, 6to4, NAT64)
  that is loopback, private, link-local, multicast, reserved, unspecified or otherwise not
  global; a single-label name; ``localhost`` and names under local-only suffixes;
- at every delivery (:func:`webhook_post`) the host is resolved once, every address it
  resolves to is checked again (a name can be made to resolve elsewhere after registration:
  DNS rebinding), and the connection goes to the checked address — the name is never looked
  up a second time — with the name kept for the Host header, TLS SNI and the certificate
  check.  Redirects are not followed, no proxy from the environment is used, and the
  response body is never read.

``WEBHOOK_REQUIRE_HTTPS`` and ``WEBHOOK_ALLOW_PRIVATE_HOSTS`` (settings) relax the two rules for
local and test settings, where the quick-start's receiver listens on 127.0.0.1.

No library of the requests family does this while it is maintained (advocate, the one made
for it, pins requests < 3 and was last released in 2020); urllib3, which requests is built
on, connects to a given address while verifying TLS for a given name, which is all we need.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from requests import certs

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that only ever mean this machine or its local network (RFC 6761, 6762, 8375; ICANN's
# .internal, under which cloud metadata services live, e.g. metadata.google.internal).
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
LOCAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa", ".intranet", ".lan", ".corp")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")

# Failure classes a partner may see in its delivery log (WebhookDelivery.Failure).
BLOCKED_ADDRESS = "blocked_address"
HTTPS_REQUIRED = "https_required"
DNS_ERROR = "dns_error"
TIMEOUT = "timeout"
CONNECTION_REFUSED = "connection_refused"
CONNECTION_ERROR = "connection_error"
TLS_ERROR = "tls_error"
NON_2XX = "non_2xx"
FAILURES = (NON_2XX, TIMEOUT, CONNECTION_REFUSED, CONNECTION_ERROR, DNS_ERROR, TLS_ERROR, BLOCKED_ADDRESS, HTTPS_REQUIRED)


class DeliveryFailed(Exception):
    """A delivery that did not get an answer: ``failure`` is the class the partner sees,
    ``detail`` is for the lender's staff (the admin), never for the partner."""

    def __init__(self, failure: str, detail: str):
        super().__init__(detail)
        self.failure = failure
        self.detail = detail[:500]


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # ASCII (IDNA), lower case, no brackets, no trailing dot
    port: int
    request_uri: str
    ip: IPAddress | None  # the host, when it is an address literal

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if self.ip is not None and self.ip.version == 6 else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """Split a webhook URL the way it will be used; ValueError says what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"Not a valid URL: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError("Must be an http:// or https:// URL.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("Must not carry credentials (user:password@); every delivery is signed instead.")
    host = parts.hostname or ""
    if "%" in host:  # an IPv6 zone id (fe80::1%eth0) names an interface of this machine
        raise ValueError("Must not carry an IPv6 zone id.")
    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise ValueError("Must name a host.")
    ip = ip_literal(host)
    if ip is None:
        try:  # IDNA 2003 maps look-alikes (fullwidth ｌｏｃａｌｈｏｓｔ) to what a resolver would use
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise ValueError("Must name a valid host.") from None
        ip = ip_literal(host)
    else:
        host = str(ip)
    path = parts.path or "/"
    return Target(
        scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80),
        request_uri=path + (f"?{parts.query}" if parts.query else ""), ip=ip,
    )


def ip_literal(host: str) -> IPAddress | None:
    """The address when ``host`` is one in any form the C resolver accepts as a number:
    127.0.0.1, but also 2130706433, 0x7f000001, 0177.0.0.1, 127.1."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host[:1].isdigit() and all(c in "0123456789abcdefx." for c in host.lower()):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why the server must not send a partner's webhook to ``ip``; None for a public address."""
    if ip.version == 6:
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = blocked_reason(embedded)
            if reason:
                return f"{reason} (inside an IPv6 address)"
            if ip.ipv4_mapped is not None or ip in _NAT64:
                return None  # the IPv4 address is where it goes
    checks = [
        ("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast), ("private", ip.is_private), ("reserved", ip.is_reserved),
        ("site-local", ip.version == 6 and ip.is_site_local),
    ]
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    if not ip.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def local_name_reason(host: str) -> str | None:
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES):
        return "a local name"
    if "." not in host:
        return "a single-label name, which resolves inside the local network"
    return None


def _require_https() -> bool:
    return getattr(settings, "WEBHOOK_REQUIRE_HTTPS", True)


def _allow_private() -> bool:
    return getattr(settings, "WEBHOOK_ALLOW_PRIVATE_HOSTS", False)


def validate_webhook_url(url: str) -> None:
    """The URL field's validator: refuses at registration what would be refused at delivery
    without a lookup (see the module's docstring)."""
    try:
        target = parse_target(url)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid") from None
    if _require_https() and target.scheme != "https":
        raise ValidationError("Must be an https:// URL.", code="https_required")
    if not _allow_private():
        reason = blocked_reason(target.ip) if target.ip is not None else local_name_reason(target.host)
        if reason:
            raise ValidationError(f"Must point to a public address; {target.host} is {reason}.", code="blocked_address")


# --- delivery --------------------------------------------------------------------------------

_getaddrinfo = socket.getaddrinfo  # the one lookup per delivery (a seam for tests of DNS rebinding)


def resolve_checked(target: Target) -> list[str]:
    """The addresses to connect to, in the resolver's order: the host resolved once and every
    answer checked (one bad answer refuses them all: the name is not trusted)."""
    if _require_https() and target.scheme != "https":
        raise DeliveryFailed(HTTPS_REQUIRED, "The endpoint's URL is not https.")
    allow_private = _allow_private()
    if target.ip is not None:
        candidates = [(target.ip, str(target.ip))]
    else:
        if not allow_private and (reason := local_name_reason(target.host)):
            raise DeliveryFailed(BLOCKED_ADDRESS, f"{target.host} is {reason}.")
        try:
            infos = _getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise DeliveryFailed(DNS_ERROR, f"{target.host} did not resolve: {exc}") from None
        candidates = []
        for info in infos:
            address = info[4][0]
            if address not in (a for _, a in candidates):
                candidates.append((ipaddress.ip_address(address.split("%", 1)[0]), address))
        if not candidates:
            raise DeliveryFailed(DNS_ERROR, f"{target.host} resolved to no address.")
    if not allow_private:
        for ip, _ in candidates:
            if reason := blocked_reason(ip):
                raise DeliveryFailed(BLOCKED_ADDRESS, f"{target.host} resolves to {ip}, {reason}.")
    return [address for _, address in candidates]


class _NotConnected(DeliveryFailed):
    """No connection was made: nothing was sent, so the next checked address may be tried."""


def webhook_post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` to a checked address of ``url`` (the next one when a connection cannot be
    made, as a resolver-following client would); the HTTP status of the answer.  Raises
    :class:`DeliveryFailed` when there is none (refused, unreachable, timed out, TLS)."""
    try:
        target = parse_target(url)
    except ValueError as exc:
        raise DeliveryFailed(BLOCKED_ADDRESS, f"Unusable URL: {exc}") from None
    addresses = resolve_checked(target)
    for i, address in enumerate(addresses):
        try:
            return _post_to(target, address, body=body, headers=headers, timeout=timeout)
        except _NotConnected as failed:
            if i == len(addresses) - 1:
                raise DeliveryFailed(failed.failure, failed.detail) from None
    raise AssertionError("unreachable")  # resolve_checked returns at least one address


def _post_to(target: Target, address: str, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    pool_kwargs: dict = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
    if target.scheme == "https":
        pool_class = urllib3.HTTPSConnectionPool
        pool_kwargs.update(
            cert_reqs="CERT_REQUIRED", ca_certs=certs.where(), assert_hostname=target.host, server_hostname=target.host,
        )
    else:
        pool_class = urllib3.HTTPConnectionPool
    pool = pool_class(address, target.port, **pool_kwargs)
    try:
        response = pool.urlopen(
            "POST", target.request_uri, body=body, headers={**headers, "Host": target.host_header},
            redirect=False, retries=False, assert_same_host=False, preload_content=False, release_conn=False,
        )
        status = response.status
        response.close()  # the body is the partner's business, never read nor stored
        return status
    except urllib3.exceptions.SSLError as exc:
        raise DeliveryFailed(TLS_ERROR, f"TLS: {exc}") from None
    except urllib3.exceptions.NewConnectionError as exc:  # before TimeoutError: it is one
        refused = isinstance(exc.__context__, ConnectionRefusedError) or "refused" in str(exc).lower()
        raise _NotConnected(CONNECTION_REFUSED if refused else CONNECTION_ERROR, f"Connect to {address}: {exc}") from None
    except urllib3.exceptions.ConnectTimeoutError as exc:
        raise _NotConnected(TIMEOUT, f"Connect to {address} timed out: {exc}") from None
    except urllib3.exceptions.TimeoutError as exc:
        raise DeliveryFailed(TIMEOUT, f"Timed out: {exc}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise DeliveryFailed(CONNECTION_ERROR, f"{type(exc).__name__}: {exc}") from None
    finally:
        pool.close()

"""The client's address, as far as it can be trusted."""

from django.conf import settings


def client_address(request) -> str:
    """The address that connected to us, or, behind ``NUM_PROXIES`` reverse proxies that
    each append to ``X-Forwarded-For``, the address the outermost of them saw.  Entries
    further left were written by the client and may be forged, so they are never used:
    a per-address limit keyed on them could be dodged with one header."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = getattr(settings, "NUM_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    return hops[-min(proxies, len(hops))] if hops else remote

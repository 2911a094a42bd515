"""The client's address, for every rate limit and log line (SPEC §17).

Behind `TRUSTED_PROXY_COUNT` proxies of our own, the address that counts is the one the outermost
of them saw: each proxy appends the address it received the request from to X-Forwarded-For, so
with N proxies it is the N-th entry from the end. Entries before it were written by the client
and prove nothing; with no trusted proxy (the default) the header is ignored altogether and the
socket's address (`REMOTE_ADDR`) counts. A client therefore cannot choose its rate-limit bucket by
sending the header itself.

django-ratelimit (`key="ip"`, through `RATELIMIT_IP_META_KEY`) and allauth (its adapter's
`get_client_ip`) both ask this function.
"""

import ipaddress

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def client_ip(request) -> str:
    """The client's address as text, e.g. "192.0.2.7"."""
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        entries = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        # Fewer entries than proxies: the request did not pass all of them (someone reached the
        # app server directly), so the header is the client's own words and the socket counts.
        if len(entries) >= count:
            address = _valid(entries[-count].strip())
            if address is not None:
                return address
    address = _valid(request.META.get("REMOTE_ADDR", ""))
    if address is None:
        raise ImproperlyConfigured(
            "No client address in REMOTE_ADDR: behind a proxy (or on a Unix socket) set "
            "TRUSTED_PROXY_COUNT to the number of proxies in front of the application."
        )
    return address


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None

"""Who may call the API: a bearer token whenever the API is reachable from off the host.

On loopback only processes on the same host (or in the same pod) reach the
API, so it may go without a token; anywhere else it must have one, and
``gitward controller`` refuses to start without it. The probes (``/healthz``,
``/readyz``) stay open for the kubelet, and the webhooks carry their own HMAC.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

__all__ = ["bearer_matches", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, ``[v6]`` or ``localhost``) listens on loopback only.

    Any other name counts as reachable from elsewhere: what it resolves to may change.
    """
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bearer_matches(headers: Mapping[str, str], token: str) -> bool:
    """Whether ``Authorization: Bearer <token>`` is among ``headers`` (lower-cased names).

    Compared in constant time, so the answer's timing does not reveal how much
    of a guess was right. An empty ``token`` matches nothing.
    """
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))

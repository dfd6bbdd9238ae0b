"""Who may call the API: a bearer token whenever the API is reachable from off the host.

On loopback only processes on the same host (or in the same pod) reach the
API, so it may go without a token; anywhere else it must have one, and
``gitward controller`` refuses to start without it. The probes (``/healthz``,
``/readyz``) stay open for the kubelet, and the webhooks carry their own HMAC.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from gitward.hosts import is_loopback

__all__ = ["bearer_matches", "is_loopback"]


def bearer_matches(headers: Mapping[str, str], token: str) -> bool:
    """Whether ``Authorization: Bearer <token>`` is among ``headers`` (lower-cased names).

    Compared in constant time, so the answer's timing does not reveal how much
    of a guess was right. An empty ``token`` matches nothing.
    """
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8"))

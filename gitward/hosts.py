"""Which hosts are this machine: where plain http and no token are acceptable."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, ``[v6]`` or ``localhost``) is this machine.

    Any other name counts as reachable from elsewhere: what it resolves to may change.
    """
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""Listen ports for the dev cluster: a block below the kernel's ephemeral range.

An outgoing connection is given a local port from
``/proc/sys/net/ipv4/ip_local_port_range``. A server told to listen on a port
inside that range can lose it to any client that connects anywhere while the
server starts (the control plane's own components connect to each other by
the hundreds). Below the range only another listener can take a port, so a
check that it is free stays true until we bind it ourselves.
"""

from __future__ import annotations

import json
import random
import socket
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from gitward.errors import GitwardError
from gitward.programs import SS, run_program

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Linux's default range, used where /proc does not say.
_DEFAULT_EPHEMERAL = (32768, 60999)

DEFAULT_BASE = 16440
BLOCK = 10  # room for the components below plus the forge and spares
_LOWEST_BASE = 10000
_SINGLE_LOW = 20000


class PortsUnavailable(GitwardError):
    pass


@dataclass(frozen=True)
class Ports:
    """Where each component of one dev cluster listens on 127.0.0.1."""

    apiserver: int
    registry: int
    etcd: int
    etcd_peer: int
    controller_manager: int
    scheduler: int
    kwok: int
    forge: int

    @classmethod
    def block(cls, base: int) -> Ports:
        return cls(*(base + i for i in range(len(fields(cls)))))

    def items(self) -> list[tuple[str, int]]:
        return [(f.name.replace("_", "-"), getattr(self, f.name)) for f in fields(self)]


_REMEMBERED = "last-ports.json"


def remember(state: Path, ports: Ports) -> None:
    """Record ``ports`` in the state directory, where ``dev down`` leaves them.

    Like the registry's storage, they outlive the cluster: the next start takes
    the same ports when it can, so image and chart references published to the
    registry (host and port included) stay true.
    """
    (state / _REMEMBERED).write_text(json.dumps(asdict(ports)))


def remembered(state: Path) -> Ports | None:
    """The ports :func:`remember` recorded in ``state``, if any."""
    try:
        return Ports(**json.loads((state / _REMEMBERED).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def ephemeral_range(path: Path = _RANGE_FILE) -> tuple[int, int]:
    """The kernel's range of local ports for outgoing connections."""
    try:
        low, high = (int(x) for x in path.read_text().split())
    except (OSError, ValueError):
        return _DEFAULT_EPHEMERAL
    return low, high


def in_ephemeral_range(port: int) -> bool:
    low, high = ephemeral_range()
    return low <= port <= high


def port_owner(port: int) -> str | None:
    """``None`` if 127.0.0.1:port is free to listen on, else who holds it."""
    if is_free(port):
        return None
    try:
        out = run_program(SS, ["ss", "-Hltnp", f"sport = :{port}"], what="ss", timeout=5).out
        who = out.split("users:", 1)[1].strip() if "users:" in out else ""
    except GitwardError:
        who = ""
    return who or "another process"


def problem(what: str, port: int) -> str | None:
    """Why ``port`` cannot serve ``what``, or ``None`` when it can."""
    low, high = ephemeral_range()
    if low <= port <= high:
        return (
            f"dev up: port 127.0.0.1:{port} for the {what} lies in the ephemeral range "
            f"{low}-{high}, where outgoing connections can take it; pick a port below {low}"
        )
    owner = port_owner(port)
    if owner:
        return (
            f"dev up: port 127.0.0.1:{port} for the {what} is taken by {owner}; "
            "stop it or pick another port"
        )
    return None


def choose(
    *, apiserver: int | None = None, registry: int | None = None, prefer: Ports | None = None
) -> Ports:
    """The first block of free ports below the ephemeral range, from ``DEFAULT_BASE``.

    Ports given explicitly are kept (and refused when taken or ephemeral); the
    rest come from the block. ``prefer`` (the ports of the last start) comes
    first when all of it is still free and below the range: what was
    published to the registry names it by host and port.
    """
    fixed = {"apiserver": apiserver, "registry": registry}
    for what, port in (("kube-apiserver", apiserver), ("registry", registry)):
        if port is not None and (message := problem(what, port)):
            raise PortsUnavailable(message)
    low, _ = ephemeral_range()
    bases = [
        *range(DEFAULT_BASE, low - BLOCK + 1, BLOCK),
        *range(DEFAULT_BASE - BLOCK, _LOWEST_BASE - 1, -BLOCK),
    ]
    given = {k: v for k, v in fixed.items() if v is not None}
    if prefer is not None:
        candidate = replace(prefer, **given)
        numbers = [port for _, port in candidate.items()]
        rest = [port for port in numbers if port not in given.values()]
        if (
            len(set(numbers)) == len(numbers)
            and all(_LOWEST_BASE <= port < low for port in numbers)
            and all(is_free(port) for port in rest)
        ):
            return candidate
    for base in bases:
        candidate = replace(Ports.block(base), **given)
        numbers = [port for _, port in candidate.items()]
        rest = [port for port in numbers if port not in given.values()]
        if len(set(numbers)) == len(numbers) and all(is_free(port) for port in rest):
            return candidate
    raise PortsUnavailable(
        f"dev up: no block of {BLOCK} free ports below the ephemeral range "
        f"(which starts at {low}) on 127.0.0.1"
    )


def free_port() -> int:
    """One free port below the ephemeral range, for a test's or a benchmark's server.

    The search starts at a random place so that concurrent callers rarely
    probe the same ports, and stays above the dev clusters' blocks.
    """
    low, _ = ephemeral_range()
    floor = _SINGLE_LOW if low > _SINGLE_LOW + 100 else _LOWEST_BASE
    span = low - floor
    start = random.randrange(span)
    for i in range(span):
        port = floor + (start + i) % span
        if is_free(port):
            return port
    raise PortsUnavailable(f"no free port on 127.0.0.1 between {floor} and {low}")


def is_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be listened on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True

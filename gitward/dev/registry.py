"""The dev cluster's OCI registry: Debian's ``docker-registry`` on 127.0.0.1.

Images built for the dev cluster are pushed here and pulled from here; it
stores what it is given under the state directory and deletes on request.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx

from gitward.dev import processes
from gitward.dev.errors import DevClusterError
from gitward.dev.logs import last_log_line
from gitward.errors import ToolError
from gitward.programs import REGISTRY, run_program


def binary() -> str:
    """The registry's binary; :class:`ToolError` when it is not installed."""
    found = shutil.which("docker-registry")
    if found is None:
        raise ToolError(
            "docker-registry: not installed; run scripts/setup (apt-get install docker-registry)"
        )
    return found


def storage(root: Path, address: str) -> Path:
    """The registry's data directory under ``root``, for a registry at ``address``.

    What a registry holds names it by address (a chart's values name its image
    by host and port), so data written while it listened elsewhere is dropped:
    served at the new address, it would make the same commit's chart differ
    from the one already published, which immutable versions refuse.
    """
    data = root / "registry"
    marker = data / ".address"
    try:
        known = marker.read_text().strip()
    except OSError:
        known = ""
    if known != address:
        shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True, exist_ok=True)
    marker.write_text(address + "\n")
    return data


def start(binary: str, root: Path, port: int) -> int:
    """The registry started on 127.0.0.1:``port``, its data under ``root``: its PID,
    once it answers."""
    data = storage(root, f"127.0.0.1:{port}")
    config = root / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: warn}\n"
        f"storage: {{filesystem: {{rootdirectory: {data}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}'}}\n"
    )
    log = root / "registry.log"
    # Detached through a shell that exits at once: the registry then belongs to
    # init, not to whoever called ``up`` (a test process, say), which would
    # otherwise have to reap it.
    started = run_program(
        REGISTRY,
        [
            "sh",
            "-c",
            'nohup "$0" serve "$1" >>"$2" 2>&1 </dev/null & echo $!',
            binary,
            str(config),
            str(log),
        ],
        what="dev up: starting the registry",
        timeout=10,
        failure=DevClusterError,
    )
    pid = int(started.out.strip() or 0)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not pid or not processes.is_alive(pid):
            raise DevClusterError(f"dev up: the registry exited: {last_log_line(log)}; log: {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                return pid
        except httpx.HTTPError:
            time.sleep(0.1)
    raise DevClusterError(f"dev up: the registry did not answer on 127.0.0.1:{port}; log: {log}")

"""Processes that belong to a dev cluster, found by their command lines.

Every process ``dev up`` starts names a file under the state directory on its
command line (etcd's data dir, the API server's certificates, the registry's
config). That makes the state directory the one handle that finds them all,
even after a failed start left no state file behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Process:
    pid: int
    name: str

    def __str__(self) -> str:
        return f"{self.name} (pid {self.pid})"


def is_alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie has exited; only its parent's wait() is missing.
    return status.rsplit(")", 1)[-1].split()[0] != "Z"


def under(directory: Path) -> list[Process]:
    """Live processes whose command line names a path inside ``directory``."""
    marker = str(directory).rstrip("/")
    found: list[Process] = []
    own = {os.getpid(), os.getppid()}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in args if a]
        if words and any(_names_path_under(w, marker) for w in words[1:]):
            pid = int(entry.name)
            if is_alive(pid):
                found.append(Process(pid=pid, name=Path(words[0]).name))
    return sorted(found, key=lambda p: p.pid)


def _names_path_under(word: str, marker: str) -> bool:
    # Flags carry paths as ``--data-dir=/x`` or ``--etcd-servers=…,/x``.
    for part in word.replace("=", ",").split(","):
        if part == marker or part.startswith(marker + "/"):
            return True
    return False


def stop(processes: list[Process], *, grace: float = 5.0) -> None:
    """SIGTERM each process, then SIGKILL what is still alive after ``grace``."""
    for p in processes:
        _signal(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(is_alive(p.pid) for p in processes):
        time.sleep(0.1)
    for p in processes:
        if is_alive(p.pid):
            _signal(p.pid, signal.SIGKILL)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)

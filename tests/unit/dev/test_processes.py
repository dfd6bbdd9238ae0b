"""Finding and stopping a dev cluster's processes by the state dir on their command line."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from gitward.dev import processes


def spawn(args: list[str], marker: str) -> subprocess.Popen[bytes]:
    """Start ``args`` and wait until it has exec'd (its command line names ``marker``)."""
    proc = subprocess.Popen(args)
    cmdline = Path(f"/proc/{proc.pid}/cmdline")
    deadline = time.monotonic() + 5
    while marker.encode() not in cmdline.read_bytes():
        assert time.monotonic() < deadline, f"{args} did not start"
        time.sleep(0.01)
    return proc


def test_a_process_naming_a_path_under_the_dir_is_found_and_stopped(tmp_path: Path) -> None:
    state = tmp_path / "state"
    other = tmp_path / "state-other"
    mine = spawn(["sh", "-c", "sleep 60", "sh", f"--data-dir={state}/etcd"], str(state))
    theirs = spawn(["sh", "-c", "sleep 60", "sh", str(other / "x")], str(other))
    try:
        found = processes.under(state)
        assert [p.pid for p in found] == [mine.pid]
        assert found[0].name == "sh"
        processes.stop(found, grace=2)
        assert mine.wait(timeout=5) is not None
        assert theirs.poll() is None, "a process outside the state dir was stopped"
        assert processes.under(state) == []
    finally:
        mine.kill()
        theirs.kill()
        mine.wait()
        theirs.wait()


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ready = tmp_path / "trapped"
    stubborn = spawn(
        [
            "sh",
            "-c",
            f"trap '' TERM; touch {ready}; while :; do sleep 0.1; done",
            "sh",
            str(state / "x"),
        ],
        str(state),
    )
    try:
        deadline = time.monotonic() + 5
        while not ready.exists():  # SIGTERM before the trap is set would end it
            assert time.monotonic() < deadline
            time.sleep(0.01)
        found = processes.under(state)
        assert [p.pid for p in found] == [stubborn.pid]
        processes.stop(found, grace=0.5)
        assert stubborn.wait(timeout=5) == -9
    finally:
        stubborn.kill()
        stubborn.wait()

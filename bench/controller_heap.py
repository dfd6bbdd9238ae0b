"""Where the controller's memory goes, by allocation site, with N apps synced and tracked.

The controller runs whole (sync, track, watch) against the in-memory API server
with ``--apps`` apps of one Deployment and nine ConfigMaps each, as in
``scale_bench.py``; once every app is Synced, a tracemalloc snapshot is taken
and what is still allocated is summed by the innermost gitward line that
allocated it (the in-memory API server's own allocations are left out).
Prints the largest consumers.

    .venv/bin/python bench/controller_heap.py [--apps 1000] [--top 20] [--frames 10]

Tracing every allocation's stack slows the run by about the depth traced
(100 apps: 8 s untraced, 63 s at 10 frames); 10 frames reach a gitward line
for all but a few per cent of what is held.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from controller_bench import app_objects  # noqa: E402

from gitward.heal.controller import Controller, ControllerOptions  # noqa: E402
from gitward.kube.fake import FakeApiServer  # noqa: E402
from tests.unit.heal.test_controller_drift import REPO, OneCommit  # noqa: E402

FAKE = ("/gitward/kube/fake.py", "/gitward/kube/_fake_")


def write_repo(root: Path, apps: int) -> list[str]:
    names = [f"app-{a}" for a in range(apps)]
    for name in names:
        (root / name).mkdir(parents=True)
        (root / name / "objects.yaml").write_text(yaml.safe_dump_all(app_objects(name, 10)))
    spec = [
        {"name": n, "path": n, "namespace": n, "autoSync": True, "selfHeal": True} for n in names
    ]
    (root / "gitward.yaml").write_text(yaml.safe_dump({"apps": spec}))
    return names


def site(tb: tracemalloc.Traceback) -> str:
    """The innermost gitward frame of an allocation; "(api server)" for the fake's own."""
    for frame in reversed(tb):  # innermost last
        name = frame.filename
        if any(f in name for f in FAKE):
            return "(in-memory API server)"
        if "/gitward/" in name:
            return f"{name.split('/gitward/', 1)[1]}:{frame.lineno}"
    return "(outside gitward)"


async def run(apps: int, top: int, frames: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gitward-heap-") as tmp:
        root = Path(tmp)
        names = write_repo(root, apps)
        srv = FakeApiServer(namespaces=("default", "gitward-system", *names))
        tracemalloc.start(frames)
        started = time.monotonic()
        async with srv.kube() as kube:
            controller = Controller(
                kube=kube,
                source=OneCommit(root),
                options=ControllerOptions(
                    repo=REPO, poll_interval=3600, full_reconcile_interval=3600
                ),
            )
            task = asyncio.create_task(controller.lead())
            try:
                while not controller.ready.is_set():
                    await asyncio.sleep(0.2)
                await asyncio.sleep(2.0)  # let the watches deliver what the syncs wrote
                print(f"{apps} apps synced in {time.monotonic() - started:.0f}s", file=sys.stderr)
                srv.calls.clear()
                snapshot = tracemalloc.take_snapshot()
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    by_site: Counter[str] = Counter()
    for stat in snapshot.statistics("traceback"):
        by_site[site(stat.traceback)] += stat.size
    ours = sum(n for s, n in by_site.items() if not s.startswith("(in-memory"))
    print(f"# controller heap with {apps} apps x 10 objects (tracemalloc, in-memory API server)")
    print(f"\nallocated and still held outside the API server: {ours / 2**20:.1f} MiB\n")
    print("| site | MiB | share |")
    print("| --- | --- | --- |")
    for where, size in by_site.most_common(top + 1):
        if where.startswith("(in-memory"):
            continue
        print(f"| {where} | {size / 2**20:.1f} | {size / ours:.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--frames", type=int, default=10, help="stack depth traced")
    args = parser.parse_args()
    asyncio.run(run(args.apps, args.top, args.frames))


if __name__ == "__main__":
    main()

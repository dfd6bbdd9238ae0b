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
import gc
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, deque
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchkit import app_objects  # noqa: E402

from gitward.heal.controller import Controller, ControllerOptions  # noqa: E402
from gitward.health import Health, aggregate, assess  # noqa: E402
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


def held(root: object, seen: set[int]) -> int:
    """Bytes reachable from ``root`` through containers and instances, not yet in ``seen``.

    Types, functions and tasks are not followed (they lead to everything).
    """
    total = 0
    stack = [root]
    while stack:
        x = stack.pop()
        if id(x) in seen or isinstance(x, type | asyncio.Task) or callable(x):
            continue
        seen.add(id(x))
        total += sys.getsizeof(x)
        if isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list | tuple | set | frozenset | deque):
            stack.extend(x)
        elif hasattr(x, "__dict__"):
            stack.append(vars(x))
        else:
            stack.extend(getattr(x, s) for s in getattr(x, "__slots__", ()) if hasattr(x, s))
    return total


def census(controller: Controller) -> list[tuple[str, int]]:
    """What the controller holds, part by part; what two parts share counts in the first."""
    seen: set[int] = set()
    tracked = list(controller.tracked.values())
    parts: list[tuple[str, int]] = [
        (f"tracked: {f}", sum(held(getattr(t, f), seen) for t in tracked))
        for f in ("live", "desired", "fields", "ref", "uid", "fields_hash", "values_hash")
    ]
    parts.append(("tracked: the rest of each Tracked", sum(held(t, seen) for t in tracked)))
    parts.append(("tracked: the index by ref", held(controller.tracked, seen)))
    tracker = controller._tracker
    parts.append(("tracked: the index by app", held(tracker._by_app, seen)))
    parts.append(("parked events", held(tracker.parked, seen)))
    parts.append(("app states (specs, drift logs)", held(controller.apps, seen)))
    parts.append(("Prometheus metrics (per-app series)", held(controller.metrics, seen)))
    parts.append(("healer (backoffs)", held(controller._healer, seen)))
    parts.append(("config and revision", held((controller.config, controller.revision), seen)))
    return parts


async def run(apps: int, top: int, frames: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gitward-heap-") as tmp:
        root = Path(tmp)
        names = write_repo(root, apps)
        srv = FakeApiServer(namespaces=("default", "gitward-system", *names))
        if frames:
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
                # As the process's health refresh does: every app's status in the gauges.
                per_app: dict[str, list[Health]] = {}
                for t in controller.tracked.values():
                    per_app.setdefault(t.app, []).append(assess(t.live))
                controller.publish_app_gauges(
                    {a: aggregate(hs).status.value for a, hs in per_app.items()}
                )
                gc.collect()
                snapshot = tracemalloc.take_snapshot() if frames else None
                tracemalloc.stop()
                parts = census(controller)
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    objects = apps * 10
    print(f"# controller heap with {apps} apps x 10 objects (in-memory API server)")
    print("\n## held, by part (a walk of the controller's structures)\n")
    print("| part | MiB | bytes per object |")
    print("| --- | --- | --- |")
    for name, size in parts:
        print(f"| {name} | {size / 2**20:.1f} | {size / objects:.0f} |")
    total = sum(size for _, size in parts)
    print(f"| all of the above | {total / 2**20:.1f} | {total / objects:.0f} |")
    if snapshot is None:
        return
    by_site: Counter[str] = Counter()
    for stat in snapshot.statistics("traceback"):
        by_site[site(stat.traceback)] += stat.size
    ours = sum(n for s, n in by_site.items() if not s.startswith("(in-memory"))
    print(f"\n## allocated and still held outside the API server: {ours / 2**20:.1f} MiB")
    print(f"(tracemalloc, by the innermost gitward line of {frames} frames)\n")
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
    parser.add_argument(
        "--frames", type=int, default=10, help="stack depth traced; 0: the walk only"
    )
    args = parser.parse_args()
    asyncio.run(run(args.apps, args.top, args.frames))


if __name__ == "__main__":
    main()

"""The controller: drift latency against a bare-watch floor, idle cost, cold start.

On a control plane of its own, one run measures:

* cold start: from ``gitward controller`` starting to every app Synced, for
  ``--apps`` apps of ``--objects`` objects each (default 200 x 10);
* idle cost: the controller's RSS and CPU share over ``--idle`` seconds once
  everything is synced;
* drift latency over ``--drifts`` injected drifts each of a scale (a
  Deployment's replicas changed by another field manager) and a delete (a
  ConfigMap removed): injection -> detected, injection -> corrected, and the
  floor: injection -> a bare watch on that object sees the event.

Prints a table and writes JSON and Markdown to bench/results/.

    .venv/bin/python bench/controller_bench.py [--apps 200] [--objects 10] [--drifts 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
from benchkit import control_plane, idle, make_repo, percentile, start_controller, stop

from gitward.kube import Gone, Kube, Resource, load_kubeconfig

HERE = Path(__file__).resolve().parent


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


async def bare_watch(
    kube: Kube,
    res: Resource,
    namespace: str,
    name: str,
    version: str,
    before: str,
    seen_at: list[float],
    seen: asyncio.Event,
) -> None:
    """The floor: the first change to ``name`` a plain watch sees.

    ``version`` is where the watch starts, ``before`` the object's version then.
    Under load even that can expire (410 Gone) before the watch starts; then
    the namespace is listed again: an object version other than ``before`` is
    the change, seen now; else the watch goes on from the new list's version.
    """
    while True:
        try:
            async for ev in kube.watch(
                res, namespace=namespace, resource_version=version, timeout_seconds=30
            ):
                if ev.object["metadata"]["name"] == name and ev.type in ("MODIFIED", "DELETED"):
                    seen_at.append(time.time())
                    seen.set()
                    return
        except Gone:
            items, listed_at = await kube.list(res, namespace=namespace)
            live = next((i for i in items if i["metadata"]["name"] == name), None)
            if live is None or live["metadata"]["resourceVersion"] != before:
                seen_at.append(time.time())
                seen.set()
                return
            version = listed_at


async def inject(kube: Kube, url: str, apps: int, drifts: int, kind: str) -> dict[str, list[float]]:
    """``drifts`` drifts on distinct apps; per drift the floor, detection and correction times."""
    floor: list[float] = []
    detect: list[float] = []
    correct: list[float] = []
    api = httpx.AsyncClient(base_url=url, timeout=10)
    try:
        for i in range(drifts):
            app = f"app-{i % apps}"
            obj_kind, name = ("Deployment", "web") if kind == "scale" else ("ConfigMap", "cm-0")
            res = await kube.resource_for("apps/v1" if obj_kind == "Deployment" else "v1", obj_kind)
            assert res is not None
            before = len((await api.get(f"/api/v1/apps/{app}/drifts")).json()["drifts"])
            # A list's version is current; an object's may be too old to watch from
            # (410 Gone) once a thousand apps have written since it last changed.
            items, listed_at = await kube.list(res, namespace=app)
            live = next((i for i in items if i["metadata"]["name"] == name), None)
            assert live is not None
            seen = asyncio.Event()
            seen_at: list[float] = []

            watcher = asyncio.create_task(
                bare_watch(
                    kube,
                    res,
                    app,
                    name,
                    listed_at,
                    live["metadata"]["resourceVersion"],
                    seen_at,
                    seen,
                )
            )
            await asyncio.sleep(0.05)
            t0 = time.time()
            if kind == "scale":
                await kube.apply(
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "metadata": {"name": name, "namespace": app},
                        "spec": {"replicas": 3},
                    },
                    field_manager="bench-scaler",
                    force=True,
                )
            else:
                await kube.delete(res, name=name, namespace=app)
            await asyncio.wait_for(seen.wait(), timeout=10)
            watcher.cancel()
            floor.append(seen_at[0] - t0)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                records = (await api.get(f"/api/v1/apps/{app}/drifts")).json()["drifts"]
                if len(records) > before and records[0].get("correctedAt"):
                    detect.append(parse_time(records[0]["detectedAt"]) - t0)
                    correct.append(parse_time(records[0]["correctedAt"]) - t0)
                    break
                await asyncio.sleep(0.02)
            else:
                raise SystemExit(f"drift {i} on {app} was not corrected")
    finally:
        await api.aclose()
    return {"floor": floor, "detect": detect, "correct": correct}


def summarise(samples: dict[str, list[float]]) -> dict[str, float]:
    out = {}
    for key, values in samples.items():
        out[f"{key}_p50"] = round(statistics.median(values), 3)
        out[f"{key}_p95"] = round(percentile(values, 95), 3)
    out["detect_over_floor_p95"] = round(out["detect_p95"] - out["floor_p95"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=200)
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--drifts", type=int, default=100)
    parser.add_argument("--idle", type=float, default=30.0)
    args = parser.parse_args()

    print("starting a control plane for the benchmark ...", file=sys.stderr)
    with control_plane("cbench") as plane:
        work = plane.work
        proc: subprocess.Popen[bytes] | None = None
        try:
            repo = work / "config"
            make_repo(repo, args.apps, args.objects)
            env = {
                **os.environ,
                "KUBECONFIG": plane.kubeconfig,
                "GITWARD_CACHE": str(work / "cache"),
            }
            t0 = time.monotonic()
            proc, url = start_controller(f"file://{repo}", env=env, log=work / "controller.log")
            print(f"cold start of {args.apps} apps x {args.objects} objects ...", file=sys.stderr)
            while True:
                if proc.poll() is not None:
                    raise SystemExit((work / "controller.log").read_text()[-3000:])
                try:
                    apps = httpx.get(url + "/api/v1/apps", timeout=5).json()["apps"]
                    if len(apps) == args.apps and all(a["sync"] == "Synced" for a in apps):
                        break
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                time.sleep(0.5)
            cold = time.monotonic() - t0

            print(f"idle for {args.idle:.0f}s ...", file=sys.stderr)
            time.sleep(5)
            idle_cpu, rss = idle(proc.pid, args.idle)
            ps = psutil.Process(proc.pid)

            async def drifts() -> dict[str, dict[str, float]]:
                async with Kube(load_kubeconfig(Path(plane.kubeconfig))) as kube:
                    out = {}
                    for kind in ("scale", "delete"):
                        print(f"{args.drifts} {kind} drifts ...", file=sys.stderr)
                        out[kind] = summarise(await inject(kube, url, args.apps, args.drifts, kind))
                    return out

            latency = asyncio.run(drifts())
            rss_after = ps.memory_info().rss / 2**20
        finally:
            stop(proc)

    result = {
        "cores": os.cpu_count(),
        "apps": args.apps,
        "objects_per_app": args.objects,
        "cold_start_seconds": round(cold, 2),
        "idle_rss_mib": round(rss, 1),
        "rss_after_drifts_mib": round(rss_after, 1),
        "idle_cpu_percent_of_one_core": round(idle_cpu, 2),
        "latency_seconds": latency,
    }
    lines = [
        f"# controller benchmark: {args.apps} apps x {args.objects} objects, "
        f"{os.cpu_count()} cores",
        "",
        f"- cold start to all Synced: {cold:.1f}s",
        f"- idle: {rss:.0f} MiB RSS (target < 300), {idle_cpu:.2f}% of one core (target < 5%)",
        "",
        "| drift | floor p50/p95 | detected p50/p95 | corrected p50/p95 "
        "| detected over floor p95 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, s in latency.items():
        cells = [
            f"{s[f'{m}_p50']:.3f}/{s[f'{m}_p95']:.3f}s" for m in ("floor", "detect", "correct")
        ]
        lines.append(f"| {kind} | {' | '.join(cells)} | {s['detect_over_floor_p95']:.3f}s |")
    lines.append("")
    lines.append("Targets: p95 detection < 1 s, p95 correction < 2 s.")
    text = "\n".join(lines) + "\n"
    print(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"controller-{stamp}.md").write_text(text)
    (HERE / "results" / f"controller-{stamp}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

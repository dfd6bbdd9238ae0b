"""Cold start at scale: N apps synced by the controller vs one kubectl apply of their objects.

For each ``--apps`` size, on a control plane of its own (with an audit policy,
so requests are counted by user agent), one run measures:

* the floor: one ``kubectl apply --server-side`` of every object of every app
  (namespaces included) at once, its time, requests and peak RSS, and the
  time until every Deployment it made is Available (the floor of gitward's
  "all Healthy"; the control plane's own controllers set its pace);
* gitward: ``gitward controller`` started on a config repository of the same
  apps (one Deployment and nine ConfigMaps each, every app ``autoSync`` +
  ``selfHeal``, in namespaces of their own), timed to every app Synced and to
  every app Synced and Healthy, with its requests and peak RSS over that span,
  then its idle RSS and CPU once everything is synced;
* reliability under load: while the apps cold-start, a ``kubectl scale``-style
  drift (``spec.replicas`` set by another field manager) on the Deployment of
  an app already Synced, once every ``--drift-every`` seconds, timed until a
  watch of the benchmark sees ``spec.replicas`` back at 1.

Time, requests and peak RSS are printed as ratios to the floor of the same run.
Writes JSON and Markdown to bench/results/.

    .venv/bin/python bench/scale_bench.py [--apps 100 500 1000] \
        [--controller-arg=--max-concurrent-syncs=8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml
from benchkit import (
    WRITE_VERBS,
    Audit,
    app_objects,
    component_cpu,
    control_plane,
    cpu_between,
    etcd_fsyncs,
    idle,
    make_repo,
    percentile,
    start_controller,
    stop,
)
from sync_bench import measure

from gitward.kube import Gone, Kube, KubeError, Resource, load_kubeconfig
from gitward.objects import Body
from gitward.tools import find_tool

HERE = Path(__file__).resolve().parent
# The benchmark's own requests go through gitward's client too; it impersonates
# this user so the audit count of gitward's requests can leave them out.
BENCH_USER = "bench-scaler"


@dataclass
class Floor:
    seconds: float
    requests: int
    writes: int
    peak_rss_mib: float
    by_verb: dict[str, int]
    #: The API server's own time per verb, median and p95 (ms).
    server_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: etcd's WAL fsyncs during the apply, and their mean time (ms).
    fsyncs: int = 0
    fsync_ms: float = float("nan")
    #: From the apply's start to every Deployment Available (nan: not within the wait).
    available_seconds: float = float("nan")
    #: CPU seconds each control-plane component used during the apply.
    plane_cpu: dict[str, float] = field(default_factory=dict)


@dataclass
class Gitward:
    synced_seconds: float
    healthy_seconds: float
    requests: int
    writes: int
    by_verb: dict[str, int]
    peak_rss_mib: float
    idle_rss_mib: float
    idle_cpu_percent: float
    drifts: list[float] = field(default_factory=list)
    drifts_missed: int = 0
    #: CPU seconds the controller spent from its start to all Synced and Healthy.
    cold_cpu_seconds: float = 0.0
    by_request: dict[str, int] = field(default_factory=dict)
    server_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: etcd's WAL fsyncs from the controller's start to all Synced, and their mean time (ms).
    fsyncs: int = 0
    fsync_ms: float = float("nan")
    #: CPU seconds each control-plane component used from the controller's start to
    #: all Synced and Healthy.
    plane_cpu: dict[str, float] = field(default_factory=dict)


def all_objects(apps: int, objects: int, prefix: str) -> list[dict[str, Any]]:
    """Namespaces first, then every app's objects, each in its app's namespace."""
    names = [f"{prefix}{a}" for a in range(apps)]
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names
    ]
    for n in names:
        for doc in app_objects(n, objects):
            doc["metadata"]["namespace"] = n
            docs.append(doc)
    return docs


def run_floor(
    work: Path,
    env: dict[str, str],
    audit: Audit,
    apps: int,
    objects: int,
    etcd: str,
    healthy_wait: float,
) -> Floor:
    kubectl = str(find_tool("kubectl"))
    target = work / "floor" / "all.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump_all(all_objects(apps, objects, "floor-")))
    cmd = [kubectl, "apply", "--server-side", "--field-manager=bench", "-f", str(target)]
    before = etcd_fsyncs(etcd)
    cpu_before = component_cpu(work)
    step = measure(cmd, env=env, audit=audit, agent="kubectl")
    plane_cpu = cpu_between(cpu_before, component_cpu(work))
    fsyncs = etcd_fsyncs(etcd) - before
    # Let the floor's Deployments settle, so their Pods are not made during gitward's
    # turn; how long that takes is the floor of "all Healthy".
    available = asyncio.run(all_available(Path(env["KUBECONFIG"]), "floor-", apps, healthy_wait))
    available += step.seconds
    return Floor(
        step.seconds,
        step.requests,
        step.writes,
        step.peak_rss_mib,
        step.by_verb,
        audit.latency,
        fsyncs=fsyncs.count,
        fsync_ms=round(fsyncs.mean_ms, 2),
        available_seconds=round(available, 2),
        plane_cpu=plane_cpu,
    )


def _available(deployment: Body) -> bool:
    conditions = deployment.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Available" and c.get("status") == "True" for c in conditions)


async def all_available(kubeconfig: Path, prefix: str, apps: int, wait: float) -> float:
    """Seconds until every Deployment in the namespaces named ``prefix*`` is Available
    (nan: not within ``wait``). Polled with one LIST every 0.5 s, as gitward's apps are:
    ``kubectl wait --all`` waits on one Deployment after another, which itself takes
    seconds at a thousand."""
    t0 = time.monotonic()
    async with Kube(load_kubeconfig(kubeconfig)) as admin:
        kube = admin.impersonating(user=BENCH_USER, groups=["system:masters"])
        res = await kube.resource_for("apps/v1", "Deployment")
        assert res is not None
        while time.monotonic() - t0 < wait:
            items, _ = await kube.list(res)
            mine = [d for d in items if d["metadata"]["namespace"].startswith(prefix)]
            if len(mine) == apps and all(_available(d) for d in mine):
                return time.monotonic() - t0
            await asyncio.sleep(0.5)
    return float("nan")


def peak_rss_mib(pid: int) -> float:
    """The process's high-water mark of resident memory (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def healed_within(kube: Kube, res: Resource, ns: str, timeout: float) -> float | None:
    """Scale the app's Deployment to 3 as another manager; seconds until it is back at 1."""
    t0 = time.monotonic()
    out = await kube.apply(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"replicas": 3},
        },
        field_manager="bench-scaler",
        force=True,
    )
    version = out["metadata"]["resourceVersion"]
    while time.monotonic() - t0 < timeout:
        try:
            async for ev in kube.watch(
                res, namespace=ns, resource_version=version, timeout_seconds=int(timeout) + 1
            ):
                body = ev.object
                version = body["metadata"].get("resourceVersion", version)
                back = (body.get("spec") or {}).get("replicas") == 1
                if ev.type == "MODIFIED" and body["metadata"].get("name") == "web" and back:
                    return time.monotonic() - t0
                if time.monotonic() - t0 >= timeout:
                    return None
        except Gone:
            # Too old a version under load: list again and carry on from there.
            items, version = await kube.list(res, namespace=ns)
            live = next((i for i in items if i["metadata"]["name"] == "web"), None)
            if live is not None and (live.get("spec") or {}).get("replicas") == 1:
                return time.monotonic() - t0
    return None


async def cold_start(
    url: str,
    kubeconfig: Path,
    proc: subprocess.Popen[bytes],
    apps: int,
    drift_every: float,
    log: Path,
    healthy_wait: float,
) -> tuple[float, float, list[float], int]:
    """Seconds to all Synced and to all Synced+Healthy; drift samples taken meanwhile."""
    t0 = time.monotonic()
    synced_at = 0.0
    synced: list[str] = []
    samples: list[float] = []
    missed = 0
    drifting: set[asyncio.Task[float | None]] = set()
    async with Kube(load_kubeconfig(kubeconfig)) as admin, httpx.AsyncClient(timeout=10) as api:
        kube = admin.impersonating(user=BENCH_USER, groups=["system:masters"])
        res = await kube.resource_for("apps/v1", "Deployment")
        assert res is not None
        drifted: set[str] = set()
        next_drift = time.monotonic() + drift_every
        while True:
            if proc.poll() is not None:
                raise SystemExit(log.read_text()[-3000:])
            try:
                listed = (await api.get(url + "/api/v1/apps")).json()["apps"]
            except (httpx.HTTPError, ValueError, KeyError):
                listed = []
            synced = [a["name"] for a in listed if a["sync"] == "Synced"]
            if not synced_at and len(listed) == apps and len(synced) == apps:
                synced_at = time.monotonic() - t0
            if synced_at and all(a.get("health") == "Healthy" for a in listed):
                healthy_at = time.monotonic() - t0
                break
            if synced_at and time.monotonic() - t0 > synced_at + healthy_wait:
                healthy_at = float("nan")  # never all Healthy
                break
            # Drift only while the cold start is still under way.
            if not synced_at and time.monotonic() >= next_drift:
                candidates = [a for a in synced if a not in drifted]
                if candidates:
                    app = candidates[-1]
                    drifted.add(app)
                    task = asyncio.create_task(healed_within(kube, res, app, 30.0))
                    drifting.add(task)
                next_drift = time.monotonic() + drift_every
            await asyncio.sleep(0.5)
        for task in drifting:
            try:
                took = await task
            except KubeError:
                took = None
            if took is None:
                missed += 1
            else:
                samples.append(took)
    return synced_at, healthy_at, samples, missed


def run_gitward(
    work: Path,
    env: dict[str, str],
    audit: Audit,
    apps: int,
    objects: int,
    args: argparse.Namespace,
    etcd: str,
) -> Gitward:
    repo = work / "config"
    make_repo(repo, apps, objects)
    log = work / "controller.log"
    time.sleep(1.0)
    audit.mark()
    fsyncs_before = etcd_fsyncs(etcd)
    cpu_before = component_cpu(work)
    proc, url = start_controller(
        f"file://{repo}",
        env={**env, "GITWARD_CACHE": str(work / "cache")},
        log=log,
        extra=args.controller_arg,
    )
    spy = None
    if args.profile:
        # Sampled from outside, without pausing it: where the controller's own CPU goes.
        spy = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(proc.pid),
                "--nonblocking",
                "--rate",
                "50",
                "--format",
                "raw",
                "-o",
                str(args.profile.with_suffix(f".{apps}.txt")),
            ],
            stdout=subprocess.DEVNULL,
        )
    try:
        synced, healthy, drifts, missed = asyncio.run(
            cold_start(
                url,
                Path(env["KUBECONFIG"]),
                proc,
                apps,
                args.drift_every,
                log,
                args.healthy_wait,
            )
        )
        fsyncs = etcd_fsyncs(etcd) - fsyncs_before
        plane_cpu = cpu_between(cpu_before, component_cpu(work))
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        peak = peak_rss_mib(proc.pid)
        cold_cpu = sum(psutil.Process(proc.pid).cpu_times()[:2])
        time.sleep(2.0)
        verbs = audit.count("gitward", watches=True, leave_out_user=BENCH_USER)
        detail, server_ms = dict(audit.detail), audit.latency
        time.sleep(3.0)
        idle_cpu, idle_rss = idle(proc.pid, args.idle)
    finally:
        stop(proc)
    return Gitward(
        synced_seconds=round(synced, 2),
        healthy_seconds=round(healthy, 2),
        requests=sum(verbs.values()),
        writes=sum(n for v, n in verbs.items() if v in WRITE_VERBS),
        by_verb=dict(verbs),
        peak_rss_mib=round(peak, 1),
        idle_rss_mib=round(idle_rss, 1),
        idle_cpu_percent=round(idle_cpu, 2),
        drifts=[round(d, 3) for d in drifts],
        drifts_missed=missed,
        cold_cpu_seconds=round(cold_cpu, 2),
        by_request=detail,
        server_ms=server_ms,
        fsyncs=fsyncs.count,
        fsync_ms=round(fsyncs.mean_ms, 2),
        plane_cpu=plane_cpu,
    )


def one_size(apps: int, args: argparse.Namespace) -> dict[str, Any]:
    print(f"{apps} apps: starting a control plane ...", file=sys.stderr)
    with control_plane("scale", audited=True) as plane:
        assert plane.audit_log is not None
        env = {**os.environ, "KUBECONFIG": plane.kubeconfig}
        audit = Audit(plane.audit_log)
        print(f"{apps} apps: the floor (kubectl apply --server-side) ...", file=sys.stderr)
        floor = run_floor(
            plane.work, env, audit, apps, args.objects, plane.etcd, max(args.healthy_wait, 120)
        )
        print(f"{apps} apps: gitward controller cold start ...", file=sys.stderr)
        gw = run_gitward(plane.work, env, audit, apps, args.objects, args, plane.etcd)
    return {"apps": apps, "floor": asdict(floor), "gitward": asdict(gw)}


def report(results: list[dict[str, Any]], objects: int, extra: list[str]) -> str:
    lines = [
        f"# scale benchmark: apps x {objects} objects (1 Deployment, "
        f"{objects - 1} ConfigMaps), {os.cpu_count()} cores",
        "",
        f"Controller arguments: {' '.join(extra) or '(defaults)'}",
        "",
        "| apps | floor (kubectl) | gitward all Synced | ratio "
        "| gitward all Healthy | ratio | floor all Available | gitward / floor Available "
        "| requests floor / gitward | ratio | peak RSS floor / gitward | ratio "
        "| idle RSS | idle CPU | drift put back p50 / p95 (n, missed) |",
        "|" + " --- |" * 15,
    ]
    for r in results:
        f, g = r["floor"], r["gitward"]
        d = g["drifts"]
        drift = (
            f"{statistics.median(d):.2f} / {percentile(d, 95):.2f}s "
            f"({len(d)}, {g['drifts_missed']})"
            if d
            else f"none ({g['drifts_missed']} missed)"
        )
        available = f.get("available_seconds", float("nan"))
        healthy = (
            f"{g['healthy_seconds']:.1f}s | {g['healthy_seconds'] / f['seconds']:.2f}x "
            f"| {available:.1f}s | {g['healthy_seconds'] / available:.2f}x"
        )
        lines.append(
            f"| {r['apps']} | {f['seconds']:.1f}s | {g['synced_seconds']:.1f}s "
            f"| {g['synced_seconds'] / f['seconds']:.2f}x | {healthy} "
            f"| {f['requests']} / {g['requests']} | {g['requests'] / f['requests']:.2f}x "
            f"| {f['peak_rss_mib']:.0f} / {g['peak_rss_mib']:.0f} MiB "
            f"| {g['peak_rss_mib'] / f['peak_rss_mib']:.2f}x | {g['idle_rss_mib']:.0f} MiB "
            f"| {g['idle_cpu_percent']:.1f}% | {drift} |"
        )
    lines += [
        "",
        "Targets at 1,000 apps: all Synced and Healthy ≤ 0.8x the floor; peak RSS ≤ 200 MiB, "
        "idle RSS ≤ 150 MiB; idle CPU < 5% of one core; drift put back p95 < 2 s.",
        "",
        "gitward requests by verb:",
        "",
    ]
    for r in results:
        verbs = ", ".join(f"{v} {n}" for v, n in sorted(r["gitward"]["by_verb"].items()))
        lines.append(f"- {r['apps']} apps: {verbs}")
    lines += ["", "The API server's own time per verb, median / p95 (ms):", ""]
    for r in results:
        for who in ("floor", "gitward"):
            times = r[who].get("server_ms") or {}
            shown = ", ".join(
                f"{v} {p50:.0f} / {p95:.0f}" for v, (p50, p95) in sorted(times.items())
            )
            lines.append(f"- {r['apps']} apps, {who}: {shown or 'not measured'}")
    lines += [
        "",
        "etcd's WAL fsyncs, count and mean time (a serial client waits on each; "
        "concurrent writes share them):",
        "",
    ]
    for r in results:
        f, g = r["floor"], r["gitward"]
        lines.append(
            f"- {r['apps']} apps: floor {f.get('fsyncs', 0)} at {f.get('fsync_ms', 'nan')} ms, "
            f"gitward {g.get('fsyncs', 0)} at {g.get('fsync_ms', 'nan')} ms"
        )
    lines += [
        "",
        "The control plane's CPU seconds, by component, over the floor's apply and over "
        f"gitward's cold start (the client's own beside them; {os.cpu_count()} cores in all):",
        "",
    ]
    for r in results:
        f, g = r["floor"], r["gitward"]
        for who, cpu, own in (
            ("floor", f.get("plane_cpu") or {}, "kubectl n/a"),
            ("gitward", g.get("plane_cpu") or {}, f"gitward {g['cold_cpu_seconds']}"),
        ):
            parts = ", ".join(f"{k} {v}" for k, v in cpu.items())
            lines.append(f"- {r['apps']} apps, {who}: {parts or 'not measured'}; {own}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--objects", type=int, default=10)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--drift-every", type=float, default=2.0)
    parser.add_argument(
        "--controller-arg",
        action="append",
        default=[],
        help="An extra argument for gitward controller (repeat for more).",
    )
    parser.add_argument(
        "--healthy-wait",
        type=float,
        default=300.0,
        help=(
            "Seconds to wait for all Healthy once all are Synced (0: do not wait), and for "
            "the floor's Deployments to be Available after the apply (at least 120)."
        ),
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="Sample the controller with py-spy (installed apart) over the cold start, "
        "into PROFILE.<apps>.txt (collapsed stacks).",
    )
    args = parser.parse_args()
    # Stopped early, still stop the control plane and the controller (finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    results: list[dict[str, Any]] = []
    for n in args.apps:
        results.append(one_size(n, args))
        # Written after each size, so a long run stopped half way keeps what it measured.
        text = report(results, args.objects, args.controller_arg)
        (out / f"scale-{stamp}.md").write_text(text)
        (out / f"scale-{stamp}.json").write_text(
            json.dumps(
                {"cores": os.cpu_count(), "controller_args": args.controller_arg, "runs": results},
                indent=2,
            )
        )
    print(text)


if __name__ == "__main__":
    main()

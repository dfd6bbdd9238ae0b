"""The controller's memory and idle CPU with N apps, on a real control plane.

``gitward controller`` runs as a process of its own against a control plane
the benchmark starts (a state directory of its own), on a config repository
of ``--apps`` apps of one Deployment and nine ConfigMaps each (every app
``autoSync`` + ``selfHeal``, in namespaces of their own), as in
``scale_bench.py`` but without its floor. Measured: the time to every app
Synced, the peak RSS over the cold start (VmHWM), then, once all is synced
and the benchmark has stopped asking, idle RSS and the CPU used over
``--idle`` seconds. Where the memory goes is ``controller_heap.py``'s job.

    .venv/bin/python bench/controller_memory.py [--apps 1000] [--idle 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from benchkit import idle, make_repo, start_controller
from scale_bench import peak_rss_mib


def run(apps: int, idle_seconds: float, extra: list[str], work: Path) -> dict[str, float]:
    repo = work / "config"
    make_repo(repo, apps, 10)
    log = work / "controller.log"
    env = {**os.environ, "GITWARD_CACHE": str(work / "cache")}
    t0 = time.monotonic()
    proc, url = start_controller(f"file://{repo}", env=env, log=log, extra=extra)
    try:
        synced_at = 0.0
        with httpx.Client(timeout=30) as api:
            while not synced_at:
                if proc.poll() is not None:
                    raise SystemExit(log.read_text()[-3000:])
                time.sleep(2.0)
                try:
                    listed = api.get(f"{url}/api/v1/apps").json()["apps"]
                except (httpx.HTTPError, ValueError, KeyError):
                    continue
                if len(listed) == apps and all(a["sync"] == "Synced" for a in listed):
                    synced_at = time.monotonic() - t0
        peak = peak_rss_mib(proc.pid)
        time.sleep(5.0)  # the last watch events and records
        idle_cpu, idle_rss = idle(proc.pid, idle_seconds)
        peak = max(peak, peak_rss_mib(proc.pid))
        print(
            f"all Synced in {synced_at:.0f}s; peak RSS {peak:.0f} MiB, "
            f"idle RSS {idle_rss:.0f} MiB, idle CPU {idle_cpu:.1f}%",
            file=sys.stderr,
        )
    finally:
        stopping = time.monotonic()
        proc.terminate()
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print(f"stopped in {time.monotonic() - stopping:.1f}s", file=sys.stderr)
        if proc.returncode not in (0, -15):
            print(log.read_text()[-3000:], file=sys.stderr)
    return {
        "synced_s": round(synced_at, 1),
        "peak_rss_mib": round(peak, 1),
        "idle_rss_mib": round(idle_rss, 1),
        "idle_cpu_percent": round(idle_cpu, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--controller-arg", action="append", default=[])
    args = parser.parse_args()
    from gitward.dev import cluster as devcluster

    with tempfile.TemporaryDirectory(prefix="gitward-memory-") as tmp:
        work = Path(tmp)
        os.environ["GITWARD_STATE"] = str(work / "state")
        os.environ["GITWARD_NAMESPACE"] = "gitward-memory"
        up = devcluster.up()
        try:
            os.environ["KUBECONFIG"] = up.cluster.kubeconfig
            out = run(args.apps, args.idle, args.controller_arg, work)
        finally:
            devcluster.down()
    print(
        f"{args.apps} apps x 10 objects: all Synced in {out['synced_s']:.0f}s; "
        f"peak RSS {out['peak_rss_mib']:.0f} MiB, idle RSS {out['idle_rss_mib']:.0f} MiB, "
        f"idle CPU {out['idle_cpu_percent']:.1f}% of one core"
    )


if __name__ == "__main__":
    main()

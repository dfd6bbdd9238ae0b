"""gitward sync vs kubectl apply --server-side vs helm upgrade --install, in one run.

The same generated workload (ConfigMaps, Services and Deployments whose Pods
kwok makes Ready, spread over namespaces) is applied by each tool on a
control plane of its own started for the benchmark, with an audit policy so
every request is counted by user agent. Measured per tool: cold apply, no-op
re-sync, a one-object change, peak RSS, and API requests (writes separately).
Prints a table of ratios and writes JSON and Markdown to bench/results/.

    .venv/bin/python bench/sync_bench.py [--objects 1000] [--namespaces 10]
        [--tools gitward,kubectl,helm]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from benchkit import WRITE_VERBS, Audit, control_plane

from gitward.tools import find_tool

HERE = Path(__file__).resolve().parent


@dataclass
class Step:
    seconds: float
    peak_rss_mib: float
    requests: int
    writes: int
    by_verb: dict[str, int] = field(default_factory=dict)


@dataclass
class ToolResult:
    tool: str
    cold: Step
    noop: Step
    one_change: Step


def workload(prefix: str, objects: int, namespaces: int) -> list[dict[str, Any]]:
    """``objects`` objects over ``namespaces``: 40% ConfigMaps, 30% Services, 30% Deployments."""
    out: list[dict[str, Any]] = []
    per_ns = objects // namespaces
    for n in range(namespaces):
        ns = f"{prefix}-{n}"
        kinds = ["ConfigMap"] * (per_ns * 4 // 10) + ["Service"] * (per_ns * 3 // 10)
        kinds += ["Deployment"] * (per_ns - len(kinds))
        for i, kind in enumerate(kinds):
            name = f"obj-{i}"
            meta = {"name": name, "namespace": ns, "labels": {"app": name}}
            if kind == "ConfigMap":
                out.append(
                    {"apiVersion": "v1", "kind": kind, "metadata": meta, "data": {"i": str(i)}}
                )
            elif kind == "Service":
                out.append(
                    {
                        "apiVersion": "v1",
                        "kind": kind,
                        "metadata": meta,
                        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
                    }
                )
            else:
                out.append(
                    {
                        "apiVersion": "apps/v1",
                        "kind": kind,
                        "metadata": meta,
                        "spec": {
                            "replicas": 1,
                            "selector": {"matchLabels": {"app": name}},
                            "template": {
                                "metadata": {"labels": {"app": name}},
                                "spec": {
                                    "containers": [{"name": "app", "image": "example.com/app:1"}]
                                },
                            },
                        },
                    }
                )
    return out


def namespaces_yaml(prefix: str, namespaces: int) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"{prefix}-{n}"}}
        for n in range(namespaces)
    ]


def write_docs(path: Path, docs: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def measure(
    cmd: list[str], *, env: dict[str, str], audit: Audit, agent: str, cwd: Path | None = None
) -> Step:
    """Run ``cmd`` once; its wall time, peak RSS (all descendants) and audited requests."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "rc = subprocess.run(sys.argv[1:]).returncode\n"
        "dt = time.monotonic() - t\n"
        "print(rc, dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    )
    time.sleep(1.0)  # let the audit log catch up with earlier requests
    audit.mark()
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    rc_s, dt_s, rss_s = proc.stderr.strip().splitlines()[-1].split()
    if int(rc_s) != 0:
        raise SystemExit(
            f"{' '.join(cmd[:3])} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    time.sleep(1.0)
    verbs = audit.count(agent)
    return Step(
        seconds=round(float(dt_s), 3),
        peak_rss_mib=round(int(rss_s) / 1024, 1),
        requests=sum(verbs.values()),
        writes=sum(n for v, n in verbs.items() if v in WRITE_VERBS),
        by_verb=dict(verbs),
    )


def wait_ready(kube_env: dict[str, str], prefix: str, namespaces: int, kubectl: str) -> None:
    """Wait until every Deployment of the workload is Available, so tools see settled objects."""
    for n in range(namespaces):
        subprocess.run(
            [
                kubectl,
                "wait",
                "--for=condition=Available",
                "deployment",
                "--all",
                "-n",
                f"{prefix}-{n}",
                "--timeout=300s",
            ],
            env=kube_env,
            check=True,
            capture_output=True,
        )


def delete_namespaces(kube_env: dict[str, str], prefix: str, namespaces: int, kubectl: str) -> None:
    names = [f"{prefix}-{n}" for n in range(namespaces)]
    subprocess.run(
        [kubectl, "delete", "namespace", *names, "--wait=true", "--timeout=300s"],
        env=kube_env,
        check=False,
        capture_output=True,
    )


def bench_gitward(
    work: Path, env: dict[str, str], audit: Audit, objects: int, namespaces: int, kubectl: str
) -> ToolResult:
    repo = work / "gitward-repo"
    docs = workload("bench-g", objects, namespaces)
    write_docs(repo / "app" / "namespaces.yaml", namespaces_yaml("bench-g", namespaces))
    write_docs(repo / "app" / "objects.yaml", docs)
    (repo / "gitward.yaml").write_text("apps:\n  - name: bench\n    path: app\n")
    gitward = [
        str(Path(sys.executable).parent / "gitward"),
        "sync",
        "bench",
        "--repo",
        str(repo),
        "-o",
        "json",
    ]
    cold = measure(gitward, env=env, audit=audit, agent="gitward")
    wait_ready(env, "bench-g", namespaces, kubectl)
    noop = measure(gitward, env=env, audit=audit, agent="gitward")
    docs[0]["data"]["i"] = "changed"
    write_docs(repo / "app" / "objects.yaml", docs)
    change = measure(gitward, env=env, audit=audit, agent="gitward")
    delete_namespaces(env, "bench-g", namespaces, kubectl)
    return ToolResult("gitward", cold, noop, change)


def bench_kubectl(
    work: Path, env: dict[str, str], audit: Audit, objects: int, namespaces: int, kubectl: str
) -> ToolResult:
    d = work / "kubectl"
    docs = workload("bench-k", objects, namespaces)
    write_docs(d / "0-namespaces.yaml", namespaces_yaml("bench-k", namespaces))
    write_docs(d / "1-objects.yaml", docs)
    cmd = [kubectl, "apply", "--server-side", "--field-manager=bench", "-f", str(d)]
    cold = measure(cmd, env=env, audit=audit, agent="kubectl")
    wait_ready(env, "bench-k", namespaces, kubectl)
    noop = measure(cmd, env=env, audit=audit, agent="kubectl")
    docs[0]["data"]["i"] = "changed"
    write_docs(d / "1-objects.yaml", docs)
    change = measure(cmd, env=env, audit=audit, agent="kubectl")
    delete_namespaces(env, "bench-k", namespaces, kubectl)
    return ToolResult("kubectl", cold, noop, change)


def bench_helm(
    work: Path, env: dict[str, str], audit: Audit, objects: int, namespaces: int, kubectl: str
) -> ToolResult:
    chart = work / "helm-chart"
    docs = workload("bench-h", objects, namespaces)
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bench\nversion: 0.1.0\n")
    write_docs(chart / "templates" / "namespaces.yaml", namespaces_yaml("bench-h", namespaces))
    write_docs(chart / "templates" / "objects.yaml", docs)
    helm = str(find_tool("helm"))
    cmd = [helm, "upgrade", "--install", "bench", str(chart), "--namespace", "default"]
    helm_env = {
        **env,
        "HELM_CACHE_HOME": str(work / "helm-home" / "cache"),
        "HELM_CONFIG_HOME": str(work / "helm-home" / "config"),
        "HELM_DATA_HOME": str(work / "helm-home" / "data"),
    }
    cold = measure(cmd, env=helm_env, audit=audit, agent="helm")
    wait_ready(env, "bench-h", namespaces, kubectl)
    noop = measure(cmd, env=helm_env, audit=audit, agent="helm")
    docs[0]["data"]["i"] = "changed"
    write_docs(chart / "templates" / "objects.yaml", docs)
    change = measure(cmd, env=helm_env, audit=audit, agent="helm")
    subprocess.run(
        [helm, "uninstall", "bench", "--namespace", "default", "--wait"],
        env=helm_env,
        check=False,
        capture_output=True,
    )
    delete_namespaces(env, "bench-h", namespaces, kubectl)
    return ToolResult("helm", cold, noop, change)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def report(results: dict[str, ToolResult], objects: int, namespaces: int) -> str:
    missing = ToolResult("-", *(Step(0.0, 0.0, 0, 0) for _ in range(3)))
    g, k, h = (results.get(t, missing) for t in ("gitward", "kubectl", "helm"))
    lines = [
        f"# sync benchmark: {objects} objects in {namespaces} namespaces, {os.cpu_count()} cores",
        "",
        "| step | gitward | kubectl | helm | gitward/kubectl | gitward/helm | target |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    targets = {
        "cold": "≤ 0.8x kubectl",
        "noop": "≤ 0.3x kubectl, 0 writes",
        "one_change": "≤ 0.2x helm",
    }

    def row(label: str, values: list[float], shown: list[str], target: str) -> None:
        g_, k_, h_ = values
        cells = " | ".join(shown)
        lines.append(f"| {label} | {cells} | {ratio(g_, k_)} | {ratio(g_, h_)} | {target} |")

    for step in ("cold", "noop", "one_change"):
        steps = [getattr(r, step) for r in (g, k, h)]
        row(
            f"{step} time",
            [s.seconds for s in steps],
            [f"{s.seconds:.2f}s" for s in steps],
            targets[step],
        )
        row(
            f"{step} requests (writes)",
            [s.requests for s in steps],
            [f"{s.requests} ({s.writes})" for s in steps],
            "",
        )
    peaks = [
        max(getattr(r, s).peak_rss_mib for s in ("cold", "noop", "one_change")) for r in (g, k, h)
    ]
    row("peak RSS", peaks, [f"{p:.0f} MiB" for p in peaks], "≤ 200 MiB")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--namespaces", type=int, default=10)
    parser.add_argument(
        "--tools",
        default="gitward,kubectl,helm",
        help="comma-separated, of gitward, kubectl, helm (a tool left out shows zeros)",
    )
    args = parser.parse_args()
    tools = set(args.tools.split(","))

    print("starting a control plane for the benchmark ...", file=sys.stderr)
    with control_plane("bench", audited=True) as plane:
        assert plane.audit_log is not None
        env = {**os.environ, "KUBECONFIG": plane.kubeconfig}
        audit = Audit(plane.audit_log)
        kubectl = str(find_tool("kubectl"))
        results: dict[str, ToolResult] = {}
        for name, fn in (
            ("gitward", bench_gitward),
            ("kubectl", bench_kubectl),
            ("helm", bench_helm),
        ):
            if name not in tools:
                continue
            print(f"running {name} ...", file=sys.stderr)
            results[name] = fn(plane.work, env, audit, args.objects, args.namespaces, kubectl)

    text = report(results, args.objects, args.namespaces)
    print(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"sync-{stamp}.md").write_text(text)
    (out / f"sync-{stamp}.json").write_text(
        json.dumps(
            {
                "cores": os.cpu_count(),
                "objects": args.objects,
                "namespaces": args.namespaces,
                "results": {k: asdict(v) for k, v in results.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

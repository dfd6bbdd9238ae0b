"""``gitward dev up|down|env``: a real control plane on 127.0.0.1.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as local
processes, with kwok faking nodes and pod lifecycles so workloads become
Ready. ``kwokctl --runtime binary`` supervises them: it generates the PKI,
starts the components in order and tracks their PIDs, and it runs offline once
every binary is given as a local path (the pinned builds of tools/build.sh).
Beside it runs Debian's ``docker-registry`` as the OCI registry
(:mod:`gitward.dev.registry`), and with ``forge=True`` a Gitea
(:mod:`gitward.dev.forge`).

All state lives in a per-user directory (``$GITWARD_STATE``, else
``$XDG_STATE_HOME/gitward``), never in the repository.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gitward.dev import forge as devforge
from gitward.dev import ports as devports
from gitward.dev import processes, registry, state
from gitward.dev.errors import DevClusterError
from gitward.dev.logs import last_line, last_log_line
from gitward.dev.ports import Ports
from gitward.errors import GitwardError, ToolError
from gitward.programs import KWOKCTL, ProgramRun, run_program
from gitward.tools import find_tool, pinned_build, pins

CLUSTER_NAME = "gitward"
NODES = 3
#: Pods each fake node takes. kwok's default of 110 (a kubelet's) would leave
#: most of a benchmark's thousand Deployments Pending on three nodes.
PODS_PER_NODE = 5000
_COMPONENT_TOOLS = (
    "kubectl",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kwokctl",
)


@dataclass(frozen=True)
class DevCluster:
    kubeconfig: str
    apiserver: str
    registry: str
    registry_pid: int
    state_dir: str
    ports: dict[str, int] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": self.kubeconfig, "GITWARD_REGISTRY": self.registry}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DevCluster:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in doc.items() if k in known})


@dataclass(frozen=True)
class UpResult:
    cluster: DevCluster
    already_running: bool
    forge: devforge.Forge | None = None


state_dir = state.state_dir


def _kwok_env() -> dict[str, str]:
    """What kwokctl gets on top of :data:`gitward.programs.KWOKCTL`'s allowed environment."""
    return {
        "KWOK_WORKDIR": str(state_dir() / "kwok"),
        # kwokctl adds and removes its context in $KUBECONFIG: keep it to our own file.
        "KUBECONFIG": str(state_dir() / "kubeconfig"),
        "KWOK_KUBE_VERSION": pins()["KUBERNETES"],
    }


def current() -> DevCluster | None:
    """The running dev cluster, or ``None``."""
    doc = state.read()
    try:
        return DevCluster.from_doc(doc) if doc is not None else None
    except TypeError:
        return None


def strays() -> list[processes.Process]:
    """Processes of a dev cluster under the state dir that no state file accounts for."""
    if current() is not None:
        return []
    return processes.under(state_dir())


def _healthy(kubeconfig: str) -> bool:
    from gitward.kube import Kube, load_kubeconfig

    async def ready() -> bool:
        async with Kube(load_kubeconfig(Path(kubeconfig)), timeout=3) as kube:
            return await kube.ready()

    try:
        return asyncio.run(ready())
    except (OSError, GitwardError):
        return False


def _binaries() -> dict[str, Path]:
    """Each component's pinned binary; a failed build is reported before a missing one."""
    builds = {tool: pinned_build(tool) for tool in _COMPONENT_TOOLS}
    for tool, build in builds.items():
        log = build.failure_log
        if log is not None:
            raise ToolError(
                f"{tool}: the pinned build {build.name} {build.version} failed; see {log}"
            )
    out: dict[str, Path] = {}
    for tool, build in builds.items():
        path = build.directory / tool
        if not path.exists():
            raise ToolError(
                f"{tool}: pinned {build.name} {build.version} is not built; run tools/build.sh"
            )
        out[tool] = path
    return out


def _run_kwokctl(kwokctl: Path, args: list[str], *, what: str, timeout: float) -> ProgramRun:
    log = state_dir() / "kwokctl.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    run = run_program(
        KWOKCTL,
        [str(kwokctl), "--name", CLUSTER_NAME, *args],
        what=what,
        timeout=timeout,
        env=_kwok_env(),
        failure=DevClusterError,
    )
    with log.open("a") as f:
        f.write(f"$ kwokctl {' '.join(args)}\n{run.out}{run.err}\n")
    return run


def up(
    *,
    apiserver_port: int | None = None,
    registry_port: int | None = None,
    audit_policy: Path | None = None,
    forge: bool = False,
) -> UpResult:
    """Start the registry, the control plane and kwok nodes; reuse them if they run.

    With ``forge``, the dev forge too (started beside a running cluster if
    that runs already; a forge that fails to start then stops only itself).

    Ports not given are chosen below the kernel's ephemeral range and recorded
    in the state file. The registry starts first, right after its port was
    checked; the control plane's ports lie below the ephemeral range, where only
    another listener could take them. A start that fails half way stops
    everything it started before it raises.

    With ``audit_policy``, the API server writes an audit log (see :func:`audit_log`),
    which the benchmarks use to count each tool's requests by user agent.
    """
    existing = current()
    if existing is not None and _healthy(existing.kubeconfig):
        running = devforge.ensure()[0] if forge else devforge.current()
        return UpResult(cluster=existing, already_running=True, forge=running)
    if existing is not None or processes.under(state_dir()):
        down()
    bins = _binaries()
    registry_bin = registry.binary()
    try:
        last = devports.remembered(state_dir())
        chosen = devports.choose(apiserver=apiserver_port, registry=registry_port, prefer=last)
    except devports.PortsUnavailable as e:
        raise DevClusterError(str(e)) from e

    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    devports.remember(root, chosen)
    try:
        pid = registry.start(registry_bin, root, chosen.registry)
        _start_control_plane(bins, root, chosen, audit_policy)
        cluster = DevCluster(
            kubeconfig=str(root / "kubeconfig"),
            apiserver=f"https://127.0.0.1:{chosen.apiserver}",
            registry=f"127.0.0.1:{chosen.registry}",
            registry_pid=pid,
            state_dir=str(root),
            ports=dict(chosen.items()),
        )
        state.write(asdict(cluster))
        started = devforge.ensure()[0] if forge else None
    except BaseException:
        _stop_everything()
        raise
    return UpResult(cluster=cluster, already_running=False, forge=started)


def _component_patches(*, audit: bool) -> str:
    """Extra flags of the control plane's components, as kwokctl's ``componentsPatches``
    (not ``--extra-args``: kwokctl v0.7.0 mis-indexes a second one of a component and
    panics)."""
    # The controller-manager's and scheduler's own client limits (20 and 50
    # requests/s) would make a thousand Deployments take minutes to become
    # Available whoever applied them: fake nodes run pods at once, so those
    # limits would be the only pace left. Real clusters size them to their load;
    # this one is sized for its benchmarks.
    unthrottled = {"kube-api-qps": "1000", "kube-api-burst": "2000"}
    flags: dict[str, dict[str, str]] = {
        # Room for thousands of Services (the default /24 holds 254): benchmarks need it.
        "kube-apiserver": {"service-cluster-ip-range": "10.0.0.0/16"},
        "kube-controller-manager": dict(unthrottled),
        "kube-scheduler": dict(unthrottled),
    }
    if audit:
        # The log is rotated at 100 MB unless told otherwise, and a reader that
        # counts from an offset would then find nothing past it: 5,000 apps
        # write more than that.
        flags["kube-apiserver"]["audit-log-maxsize"] = "100000"
    return "componentsPatches:\n" + "".join(
        f"- name: {component}\n  extraArgs:\n"
        + "".join(f"  - key: {k}\n    value: {json.dumps(v)}\n" for k, v in args.items())
        for component, args in flags.items()
    )


def _start_control_plane(
    bins: dict[str, Path], root: Path, ports: Ports, audit_policy: Path | None
) -> None:
    # Every component binds to loopback only (kwokctl's default is 0.0.0.0), on
    # the ports chosen for it (kwokctl would otherwise probe for its own).
    config = root / "kwokctl.yaml"
    config.write_text(
        "apiVersion: config.kwok.x-k8s.io/v1alpha1\n"
        "kind: KwokctlConfiguration\n"
        "options:\n"
        "  bindAddress: 127.0.0.1\n"
        f"  kubectlBinary: {bins['kubectl']}\n"
        f"  kubeApiserverPort: {ports.apiserver}\n"
        f"  etcdPort: {ports.etcd}\n"
        f"  etcdPeerPort: {ports.etcd_peer}\n"
        f"  kubeControllerManagerPort: {ports.controller_manager}\n"
        f"  kubeSchedulerPort: {ports.scheduler}\n"
        f"  kwokControllerPort: {ports.kwok}\n" + _component_patches(audit=audit_policy is not None)
    )
    args = [
        "--config",
        str(config),
        "create",
        "cluster",
        "--runtime",
        "binary",
        "--kubeconfig",
        str(root / "kubeconfig"),
        "--etcd-binary",
        str(bins["etcd"]),
        "--kube-apiserver-binary",
        str(bins["kube-apiserver"]),
        "--kube-controller-manager-binary",
        str(bins["kube-controller-manager"]),
        "--kube-scheduler-binary",
        str(bins["kube-scheduler"]),
        "--kwok-controller-binary",
        str(bins["kwok"]),
    ]
    if audit_policy is not None:
        args += ["--kube-audit-policy", str(audit_policy)]
    # kwokctl's own --wait would poll for two minutes after a component died, and
    # then exit 0 all the same: wait here instead, and fail as soon as one dies.
    run = _run_kwokctl(bins["kwokctl"], args, what="dev up: kwokctl create cluster", timeout=300)
    dead = _dead_component()
    if dead is not None:
        raise DevClusterError(f"dev up: {dead}")
    if not run.ok:
        raise DevClusterError(
            f"dev up: kwokctl failed: {last_line(run.err + run.out)}; log: {root / 'kwokctl.log'}"
        )
    _wait_ready(root / "kubeconfig", timeout=120)
    run = _run_kwokctl(
        bins["kwokctl"],
        [
            "scale",
            "node",
            "--replicas",
            str(NODES),
            "--param",
            f".allocatable.pods = {PODS_PER_NODE}",
            # A /16 per node (kwok's /24 holds 254 Pods), apart from the Services' range.
            "--param",
            '.podCIDR = "10.64.0.0/16"',
        ],
        what="dev up: kwokctl scale node",
        timeout=120,
    )
    if not run.ok:
        raise DevClusterError(
            f"dev up: could not create kwok nodes: {last_line(run.err + run.out)}; "
            f"log: {root / 'kwokctl.log'}"
        )


def _cluster_dir() -> Path:
    return state_dir() / "kwok" / "clusters" / CLUSTER_NAME


def _dead_component() -> str | None:
    """The first component whose process died, with its log's last line."""
    pids = _cluster_dir() / "pids"
    for pid_file in sorted(pids.glob("*.pid")) if pids.is_dir() else []:
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if not processes.is_alive(pid):
            component = pid_file.stem
            log = _cluster_dir() / "logs" / f"{component}.log"
            return f"{component} exited: {last_log_line(log)}; log: {log}"
    return None


def _wait_ready(kubeconfig: Path, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        dead = _dead_component()
        if dead is not None:
            raise DevClusterError(f"dev up: {dead}")
        if _healthy(str(kubeconfig)):
            return
        if time.monotonic() > deadline:
            raise DevClusterError(
                f"dev up: kube-apiserver not ready after {timeout:.0f}s; "
                f"logs: {_cluster_dir() / 'logs'}"
            )
        time.sleep(0.25)


def audit_log() -> Path:
    """Where the API server of a cluster started with an audit policy writes its log."""
    return _cluster_dir() / "logs" / "audit.log"


def _stop_everything() -> None:
    """Stop the forge, the control plane, the registry and any other process under the state dir."""
    devforge.stop()
    try:
        kwokctl: Path | None = find_tool("kwokctl")
    except ToolError:
        kwokctl = None
    if kwokctl is not None and _cluster_dir().exists():
        _run_kwokctl(
            kwokctl, ["delete", "cluster"], what="dev down: kwokctl delete cluster", timeout=120
        )
    processes.stop(processes.under(state_dir()))
    state.remove()


def down() -> bool:
    """Stop everything ``up`` started, or a half-started cluster's processes.

    ``False`` when nothing was running.
    """
    if current() is None and not _cluster_dir().exists() and not processes.under(state_dir()):
        return False
    _stop_everything()
    return True

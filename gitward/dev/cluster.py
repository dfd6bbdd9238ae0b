"""``gitward dev up|down|env``: a real control plane on 127.0.0.1.

etcd, kube-apiserver, kube-controller-manager and kube-scheduler run as local
processes, with kwok faking nodes and pod lifecycles so workloads become
Ready. ``kwokctl --runtime binary`` supervises them: it generates the PKI,
starts the components in order and tracks their PIDs, and it runs offline once
every binary is given as a local path (the pinned builds of tools/build.sh).
Beside it runs Debian's ``docker-registry`` as the OCI registry.

All state lives in a per-user directory (``$GITWARD_STATE``, else
``$XDG_STATE_HOME/gitward``), never in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from gitward.errors import GitwardError, ToolError
from gitward.tools import find_tool, pinned_build, pins

CLUSTER_NAME = "gitward"
DEFAULT_APISERVER_PORT = 36443
DEFAULT_REGISTRY_PORT = 35000
NODES = 3
_COMPONENT_TOOLS = (
    "kubectl",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
    "kwokctl",
)


class DevClusterError(GitwardError):
    pass


@dataclass(frozen=True)
class DevCluster:
    kubeconfig: str
    apiserver: str
    registry: str
    registry_pid: int
    state_dir: str

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": self.kubeconfig, "GITWARD_REGISTRY": self.registry}


@dataclass(frozen=True)
class UpResult:
    cluster: DevCluster
    already_running: bool


def state_dir() -> Path:
    env = os.environ.get("GITWARD_STATE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(xdg) / "gitward"


def _state_file() -> Path:
    return state_dir() / "dev.json"


def _kwok_env() -> dict[str, str]:
    env = dict(os.environ)
    env["KWOK_WORKDIR"] = str(state_dir() / "kwok")
    # kwokctl adds and removes its context in $KUBECONFIG: keep it to our own file.
    env["KUBECONFIG"] = str(state_dir() / "kubeconfig")
    env["KWOK_KUBE_VERSION"] = pins()["KUBERNETES"]
    return env


def current() -> DevCluster | None:
    """The running dev cluster, or ``None``."""
    try:
        data = json.loads(_state_file().read_text())
    except (FileNotFoundError, ValueError):
        return None
    return DevCluster(**data)


def _port_owner(port: int) -> str | None:
    """``None`` if 127.0.0.1:port is free, else a short description of who holds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            pass
        else:
            return None
    try:
        out = subprocess.run(
            ["ss", "-Hltnp", f"sport = :{port}"],
            check=False,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout
        who = out.split("users:", 1)[1].strip() if "users:" in out else ""
    except (OSError, subprocess.SubprocessError):
        who = ""
    return who or "another process"


def _healthy(apiserver: str, kubeconfig: str) -> bool:
    from gitward.kube.kubeconfig import load_kubeconfig

    try:
        cfg = load_kubeconfig(Path(kubeconfig))
        with httpx.Client(verify=cfg.ssl_context(), timeout=3) as c:
            return c.get(f"{apiserver}/readyz").status_code == 200
    except (OSError, httpx.HTTPError, GitwardError):
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


def _run_kwokctl(
    kwokctl: Path, args: list[str], *, timeout: float
) -> subprocess.CompletedProcess[str]:
    log = state_dir() / "kwokctl.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(kwokctl), "--name", CLUSTER_NAME, *args],
        check=False,
        env=_kwok_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    with log.open("a") as f:
        f.write(f"$ kwokctl {' '.join(args)}\n{proc.stdout}{proc.stderr}\n")
    return proc


def up(
    *,
    apiserver_port: int = DEFAULT_APISERVER_PORT,
    registry_port: int = DEFAULT_REGISTRY_PORT,
    audit_policy: Path | None = None,
) -> UpResult:
    """Start the control plane, kwok nodes and the registry; reuse them if they run.

    With ``audit_policy``, the API server writes an audit log (see :func:`audit_log`),
    which the benchmarks use to count each tool's requests by user agent.
    """
    existing = current()
    if existing is not None and _healthy(existing.apiserver, existing.kubeconfig):
        return UpResult(cluster=existing, already_running=True)
    if existing is not None:
        down()
    bins = _binaries()
    for port, what in ((apiserver_port, "kube-apiserver"), (registry_port, "registry")):
        owner = _port_owner(port)
        if owner:
            raise DevClusterError(
                f"dev up: port 127.0.0.1:{port} for the {what} is taken by {owner}; "
                "stop it or pick another port"
            )
    registry_bin = shutil.which("docker-registry")
    if registry_bin is None:
        raise ToolError(
            "docker-registry: not installed; run scripts/setup (apt-get install docker-registry)"
        )

    root = state_dir()
    root.mkdir(parents=True, exist_ok=True)
    kubeconfig = root / "kubeconfig"
    # Every component binds to loopback only; kwokctl's default is 0.0.0.0.
    config = root / "kwokctl.yaml"
    config.write_text(
        "apiVersion: config.kwok.x-k8s.io/v1alpha1\n"
        "kind: KwokctlConfiguration\n"
        "options:\n"
        "  bindAddress: 127.0.0.1\n"
        f"  kubectlBinary: {bins['kubectl']}\n"
    )
    args = [
        "--config",
        str(config),
        "create",
        "cluster",
        "--runtime",
        "binary",
        "--kubeconfig",
        str(kubeconfig),
        "--kube-apiserver-port",
        str(apiserver_port),
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
        # Room for thousands of Services (the default /24 holds 254): benchmarks need it.
        "--extra-args",
        "kube-apiserver=service-cluster-ip-range=10.0.0.0/16",
        "--wait",
        "120s",
    ]
    if audit_policy is not None:
        args += ["--kube-audit-policy", str(audit_policy)]
    proc = _run_kwokctl(bins["kwokctl"], args, timeout=300)
    if proc.returncode != 0:
        _run_kwokctl(bins["kwokctl"], ["delete", "cluster"], timeout=120)
        last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise DevClusterError(f"dev up: kwokctl failed: {last[0]}; log: {root / 'kwokctl.log'}")
    proc = _run_kwokctl(bins["kwokctl"], ["scale", "node", "--replicas", str(NODES)], timeout=120)
    if proc.returncode != 0:
        raise DevClusterError(f"dev up: could not create kwok nodes; log: {root / 'kwokctl.log'}")

    pid = _start_registry(registry_bin, root, registry_port)
    cluster = DevCluster(
        kubeconfig=str(kubeconfig),
        apiserver=f"https://127.0.0.1:{apiserver_port}",
        registry=f"127.0.0.1:{registry_port}",
        registry_pid=pid,
        state_dir=str(root),
    )
    _state_file().write_text(json.dumps(asdict(cluster), indent=2))
    return UpResult(cluster=cluster, already_running=False)


def audit_log() -> Path:
    """Where the API server of a cluster started with an audit policy writes its log."""
    return state_dir() / "kwok" / "clusters" / CLUSTER_NAME / "logs" / "audit.log"


def _start_registry(binary: str, root: Path, port: int) -> int:
    data = root / "registry"
    data.mkdir(parents=True, exist_ok=True)
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
    started = subprocess.run(
        [
            "sh",
            "-c",
            'nohup "$0" serve "$1" >>"$2" 2>&1 </dev/null & echo $!',
            binary,
            str(config),
            str(log),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=10,
        start_new_session=True,
    )
    pid = int(started.stdout.strip() or 0)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if not pid or not Path(f"/proc/{pid}").exists():
            raise DevClusterError(f"dev up: the registry exited; log: {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200:
                return pid
        except httpx.HTTPError:
            time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    raise DevClusterError(f"dev up: the registry did not answer; log: {log}")


def _is_our_registry(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        bool(cmdline)
        and cmdline[0].endswith(b"docker-registry")
        and str(state_dir()).encode() in b" ".join(cmdline)
    )


def down() -> bool:
    """Stop everything ``up`` started. ``False`` when nothing was running."""
    existing = current()
    kwok_dir = state_dir() / "kwok" / "clusters" / CLUSTER_NAME
    if existing is None and not kwok_dir.exists():
        return False
    try:
        kwokctl: Path | None = find_tool("kwokctl")
    except ToolError:
        kwokctl = None
    if kwokctl is not None and kwok_dir.exists():
        _run_kwokctl(kwokctl, ["delete", "cluster"], timeout=120)
    if existing is not None and _is_our_registry(existing.registry_pid):
        os.kill(existing.registry_pid, signal.SIGTERM)
        for _ in range(50):
            if not _is_our_registry(existing.registry_pid):
                break
            time.sleep(0.1)
        else:
            os.kill(existing.registry_pid, signal.SIGKILL)
    _state_file().unlink(missing_ok=True)
    return True

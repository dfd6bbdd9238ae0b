"""The dev forge: Gitea on 127.0.0.1, beside the dev cluster, with SQLite.

One Gitea serves as the git forge of the config and code repos, as the OCI
registry the build side pushes images and charts to, and as the classic
chart repository (its Helm registry speaks ChartMuseum's upload API). It runs
under the dev state directory, on the port the cluster's block reserved for
it, from the pinned build of ``tools/build.sh``. Its admin is created through
Gitea's CLI; the org, teams and the identities of the two trust zones through
its API (:mod:`gitward.dev.forge_api`). Their tokens go into the state file,
which only its owner can read.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from gitward.dev import forge_api, processes, state
from gitward.dev import ports as devports
from gitward.dev.forge_api import ORG, ForgeError, Identity, RepoKind
from gitward.dev.forge_config import static_root, write_config
from gitward.dev.logs import last_line, last_log_line
from gitward.errors import ToolError
from gitward.programs import GITEA, run_program
from gitward.tools import find_tool

ADMIN = "gitward-admin"
_PASSWORD_MARK = "generated random password is "
_TOKEN_MARK = "Access token was successfully created... "
_READY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Forge:
    """A running dev forge: where it listens, its PID, and its identities."""

    url: str
    port: int
    pid: int
    work_dir: str
    admin: Identity
    builder: Identity
    deployer: Identity
    promoter: Identity
    reviewer: Identity
    reporter: Identity
    org: str = ORG

    @property
    def registry(self) -> str:
        """``host:port`` of Gitea's OCI registry (images and OCI charts live under the org)."""
        return f"127.0.0.1:{self.port}"

    @property
    def chart_repo(self) -> str:
        """The org's classic Helm chart repository (``index.yaml``, ChartMuseum upload API)."""
        return f"{self.url}/api/packages/{self.org}/helm"

    def env(self) -> dict[str, str]:
        """The variables ``gitward dev env`` prints for the forge; scripts rely on the names."""
        return {
            "GITWARD_FORGE_URL": self.url,
            "GITWARD_FORGE_TOKEN_ADMIN": self.admin.token,
            "GITWARD_FORGE_TOKEN_DEPLOYER": self.deployer.token,
            "GITWARD_FORGE_TOKEN_PROMOTER": self.promoter.token,
            "GITWARD_FORGE_TOKEN_REVIEWER": self.reviewer.token,
            "GITWARD_FORGE_TOKEN_REPORTER": self.reporter.token,
            "GITWARD_BUILD_REGISTRY": self.registry,
            "GITWARD_BUILD_USER": self.builder.user,
            "GITWARD_BUILD_TOKEN": self.builder.token,
            "GITWARD_DEPLOY_USER": self.deployer.user,
            "GITWARD_DEPLOY_TOKEN": self.deployer.token,
            "GITWARD_CHART_REPO": self.chart_repo,
        }

    def create_repo(
        self,
        name: str,
        *,
        kind: RepoKind = RepoKind.CONFIG,
        files: dict[str, str] | None = None,
        protect: bool = False,
        required_approvals: int = 0,
    ) -> dict[str, Any]:
        """See :func:`gitward.dev.forge_api.create_repo`."""
        return forge_api.create_repo(
            self.url,
            self.admin.token,
            name,
            kind=kind,
            files=files,
            protect=protect,
            required_approvals=required_approvals,
        )

    def protect_main(self, repo: str, *, required_approvals: int = 0) -> dict[str, Any]:
        """See :func:`gitward.dev.forge_api.protect_main`."""
        return forge_api.protect_main(
            self.url, self.admin.token, repo, required_approvals=required_approvals
        )

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Forge:
        kw = {f.name: doc[f.name] for f in fields(cls) if f.name in doc}
        for role in ("admin", "builder", "deployer", "promoter", "reviewer", "reporter"):
            ident = doc[role]
            kw[role] = Identity(ident["user"], ident["token"], tuple(ident.get("scopes", ())))
        return cls(**kw)


def current() -> Forge | None:
    """The dev forge recorded in the state file whose process still runs, or ``None``."""
    doc = (state.read() or {}).get("forge")
    if not isinstance(doc, dict):
        return None
    try:
        forge = Forge.from_doc(doc)
    except (KeyError, TypeError, ValueError):
        return None
    return forge if processes.is_alive(forge.pid) else None


def work_dir() -> Path:
    return state.state_dir() / "forge"


def log_file() -> Path:
    return state.state_dir() / "forge.log"


def ensure() -> tuple[Forge, bool]:
    """The running forge, or one started now beside the running dev cluster.

    The second value says whether this call started it.
    """
    running = current()
    if running is not None:
        return running, False
    doc = state.read()
    if doc is None:
        raise ForgeError("forge: no dev cluster is running; run 'gitward dev up --forge'")
    port = int(doc.get("ports", {}).get("forge") or devports.free_port())
    forge = start(port)
    doc = state.read() or doc
    doc["forge"] = forge.to_doc()
    state.write(doc)
    return forge, True


def start(port: int) -> Forge:
    """Start Gitea on 127.0.0.1:``port`` under the state dir and create its identities.

    A start that fails half way stops the Gitea it started before it raises.
    """
    if message := devports.problem("forge", port):
        raise ForgeError(message.replace("dev up: ", "forge: ", 1))
    binary = find_tool("gitea")
    if not binary.exists():
        raise ToolError(f"gitea: {binary} does not exist")
    work = work_dir()
    # A forge's data lives as long as the forge: a new start begins empty.
    stop_processes()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    config = work / "app.ini"
    write_config(config, work=work, port=port, static_root=static_root(binary))
    log = log_file()
    log.write_text("")
    url = f"http://127.0.0.1:{port}"
    pid = 0
    try:
        pid = _spawn(binary, config, work, log)
        _wait_ready(url, pid, log)
        password, admin_token = _create_admin(binary, config, work)
        identities = forge_api.provision(url, ADMIN, password, admin_token)
    except BaseException:
        stop_processes(pid)
        raise
    return Forge(
        url=url,
        port=port,
        pid=pid,
        work_dir=str(work),
        admin=Identity(ADMIN, admin_token, ("all",)),
        builder=identities["builder"],
        deployer=identities["deployer"],
        promoter=identities["promoter"],
        reviewer=identities["reviewer"],
        reporter=identities["reporter"],
    )


def stop() -> bool:
    """Stop the dev forge (by its recorded PID, then anything left under its work dir).

    ``False`` when no forge was running.
    """
    doc = state.read()
    recorded = (doc or {}).get("forge")
    pid = int(recorded.get("pid", 0)) if isinstance(recorded, dict) else 0
    found = stop_processes(pid)
    if doc is not None and "forge" in doc:
        del doc["forge"]
        state.write(doc)
    return found or recorded is not None


def stop_processes(pid: int = 0) -> bool:
    """Stop ``pid`` and any process naming the forge's work dir; whether there was any."""
    left = processes.under(work_dir())
    if pid and processes.is_alive(pid) and all(p.pid != pid for p in left):
        left.insert(0, processes.Process(pid=pid, name="gitea"))
    processes.stop(left)
    return bool(left)


def _spawn(binary: Path, config: Path, work: Path, log: Path) -> int:
    # Detached through a shell that exits at once, like the registry: Gitea then
    # belongs to init, not to whoever called ``up``.
    started = run_program(
        GITEA,
        [
            "sh",
            "-c",
            'nohup "$0" web --config "$1" --work-path "$2" >>"$3" 2>&1 </dev/null & echo $!',
            str(binary),
            str(config),
            str(work),
            str(log),
        ],
        what="forge: starting gitea",
        timeout=10,
        failure=ForgeError,
    )
    return int(started.out.strip() or 0)


def _wait_ready(url: str, pid: int, log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT
    while True:
        if not pid or not processes.is_alive(pid):
            raise ForgeError(f"forge: gitea exited: {last_log_line(log)}; log: {log}")
        try:
            if httpx.get(f"{url}/api/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise ForgeError(
                f"forge: gitea did not answer on {url} after {_READY_TIMEOUT:.0f}s: "
                f"{last_log_line(log)}; log: {log}"
            )
        time.sleep(0.2)


def _create_admin(binary: Path, config: Path, work: Path) -> tuple[str, str]:
    """Create the admin through Gitea's CLI; returns its password and token (every scope).

    Gitea draws the password, so that it never appears on a command line.
    """
    run = run_program(
        GITEA,
        [
            str(binary),
            "admin",
            "user",
            "create",
            "--config",
            str(config),
            "--work-path",
            str(work),
            "--username",
            ADMIN,
            "--email",
            f"{ADMIN}@gitward.invalid",
            "--random-password",
            "--admin",
            "--must-change-password=false",
            "--access-token",
            "--access-token-name",
            "gitward-dev",
            "--access-token-scopes",
            "all",
        ],
        what="forge: gitea admin user create",
        timeout=60,
        failure=ForgeError,
    )
    password = token = ""
    for line in run.out.splitlines():
        if line.startswith(_PASSWORD_MARK):
            password = line[len(_PASSWORD_MARK) :].strip().strip("'")
        elif line.startswith(_TOKEN_MARK):
            token = line[len(_TOKEN_MARK) :].strip()
    if run.ok and password and token:
        return password, token
    # Only stderr is quoted: stdout holds the password and token.
    raise ForgeError(
        f"forge: gitea admin user create failed: {last_line(run.err)}; log: {log_file()}"
    )

"""buildah, the daemonless image builder, as the build side and ``gitward dev`` run it.

Defaults fit a CI agent or this machine, running as root where nothing but
the simplest setup works: the ``vfs`` storage driver and ``chroot``
isolation, storage under gitward's cache. A user elsewhere (rootless, with
overlay) sets ``GITWARD_BUILDAH_DRIVER``, ``GITWARD_BUILDAH_ISOLATION`` and
``GITWARD_BUILDAH_ROOT``.

Each session gets a private directory for what buildah reads from files:
the push credentials (an ``--authfile``, mode 0600, never on the command
line) and, when a registry is this machine's plain-http one, a
``registries.conf`` that marks only that host insecure; TLS stays on for
every other registry a build pulls from.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gitward.artifacts.credentials import Credentials, write_auth_file
from gitward.errors import GitwardError, ToolError
from gitward.hosts import is_loopback
from gitward.programs import BUILDAH, ProgramRun, run_logged, run_program
from gitward.tools import cache_root, find_tool


@dataclass(frozen=True)
class Buildah:
    binary: Path
    root: Path
    driver: str = "vfs"
    isolation: str = "chroot"

    @classmethod
    def from_environment(cls) -> Buildah:
        try:
            binary = find_tool("buildah")
        except ToolError as e:
            raise ToolError(
                "buildah: not installed; run scripts/setup (apt-get install buildah)"
            ) from e
        root = os.environ.get("GITWARD_BUILDAH_ROOT") or str(cache_root() / "buildah")
        return cls(
            binary=binary,
            root=Path(root),
            driver=os.environ.get("GITWARD_BUILDAH_DRIVER", "vfs"),
            isolation=os.environ.get("GITWARD_BUILDAH_ISOLATION", "chroot"),
        )

    def argv(self, *args: str) -> list[str]:
        """A buildah command line on gitward's storage (for tests and users too)."""
        return [
            str(self.binary),
            "--root",
            str(self.root / "storage"),
            "--runroot",
            str(self.root / "run"),
            "--storage-driver",
            self.driver,
            *args,
        ]

    @contextmanager
    def session(
        self,
        *,
        registries: Sequence[str] = (),
        credentials: dict[str, Credentials] | None = None,
        secrets: Sequence[str] = (),
    ) -> Iterator[BuildahSession]:
        """Run buildah with ``credentials`` per host, ``registries`` of this machine over http."""
        with tempfile.TemporaryDirectory(prefix="gitward-buildah-") as tmp:
            env: dict[str, str] = {}
            insecure = sorted({h for h in registries if is_loopback(_hostname(h))})
            if insecure:
                conf = Path(tmp) / "registries.conf"
                conf.write_text(
                    "".join(
                        f'[[registry]]\nlocation = "{h}"\ninsecure = true\n\n' for h in insecure
                    )
                )
                env["CONTAINERS_REGISTRIES_CONF"] = str(conf)
            authfile = Path(tmp) / "auth.json"
            write_auth_file(authfile, credentials or {})
            hidden = (*secrets, *(c.password for c in (credentials or {}).values()))
            yield BuildahSession(self, env=env, authfile=authfile, secrets=tuple(hidden))


@dataclass(frozen=True)
class BuildahSession:
    buildah: Buildah
    env: dict[str, str]
    authfile: Path
    secrets: tuple[str, ...]

    def run(
        self, *args: str, what: str, timeout: float, failure: type[GitwardError] = ToolError
    ) -> ProgramRun:
        return run_program(
            BUILDAH,
            self.buildah.argv(*args),
            what=what,
            timeout=timeout,
            env=self.env,
            secrets=self.secrets,
            failure=failure,
        )

    def run_logged(
        self,
        *args: str,
        what: str,
        timeout: float,
        log: Path,
        echo: Callable[[str], None] | None,
        failure: type[GitwardError] = ToolError,
    ) -> ProgramRun:
        return run_logged(
            BUILDAH,
            self.buildah.argv(*args),
            what=what,
            timeout=timeout,
            log=log,
            env=self.env,
            secrets=self.secrets,
            echo=echo,
            failure=failure,
        )

    def push(self, image: str, reference: str, *, what: str, timeout: float) -> ProgramRun:
        """``buildah push`` to ``docker://reference``; the run's stdout is the pushed digest."""
        with tempfile.TemporaryDirectory(prefix="gitward-push-") as tmp:
            digestfile = Path(tmp) / "digest"
            run = self.run(
                "push",
                "--authfile",
                str(self.authfile),
                "--digestfile",
                str(digestfile),
                "--quiet",
                image,
                f"docker://{reference}",
                what=what,
                timeout=timeout,
            )
            digest = digestfile.read_text().strip() if digestfile.exists() else ""
        return ProgramRun(run.argv, run.returncode, digest.encode(), run.stderr)


def _hostname(host: str) -> str:
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host

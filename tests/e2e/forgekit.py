"""The dev forge (a real Gitea) as the e2e tests use it: URLs, tokens, repos."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx

from gitward.dev import forge as devforge
from gitward.dev.forge_api import Identity, RepoKind
from tests.e2e.helpers import run_git


@dataclass(frozen=True)
class ForgeRepo:
    """A repo of the forge's org."""

    owner: str
    name: str
    base_url: str

    @property
    def path(self) -> str:
        return f"{self.owner}/{self.name}"

    def clone_url(self, who: Identity) -> str:
        """The repo's HTTP clone URL carrying ``who``'s token as its password."""
        host = self.base_url.removeprefix("http://")
        return f"http://{who.user}:{quote(who.token, safe='')}@{host}/{self.path}.git"


class Forge:
    """The running dev forge, with its identities and helpers for tests."""

    def __init__(self, dev: devforge.Forge) -> None:
        self.dev = dev
        self.url = dev.url
        self.registry = dev.registry
        self.chart_repo = dev.chart_repo
        self.admin = dev.admin
        self.builder = dev.builder
        self.deployer = dev.deployer
        self.promoter = dev.promoter
        self.reviewer = dev.reviewer
        self.reporter = dev.reporter

    def create_repo(
        self,
        name: str | None = None,
        *,
        protected: bool = False,
        kind: RepoKind = RepoKind.CONFIG,
        files: dict[str, str] | None = None,
        required_approvals: int = 0,
    ) -> ForgeRepo:
        """A new repo of the org (a unique name unless given), ``main`` protected if asked."""
        name = name or f"r-{uuid.uuid4().hex[:8]}"
        self.dev.create_repo(
            name,
            kind=kind,
            files=files,
            protect=protected,
            required_approvals=required_approvals,
        )
        return ForgeRepo(owner=self.dev.org, name=name, base_url=self.url)

    def api(self, who: Identity) -> httpx.Client:
        """A client of Gitea's API v1 acting as ``who`` (close it, or use ``with``)."""
        return httpx.Client(
            base_url=f"{self.url}/api/v1",
            headers={"Authorization": f"token {who.token}"},
            timeout=30,
        )

    def clone(self, repo: ForgeRepo, who: Identity, into: Path) -> Path:
        run_git(into.parent, "clone", "-q", repo.clone_url(who), str(into))
        return into

    def registry_token(self, who: Identity, repository: str, actions: str) -> httpx.Response:
        """Ask Gitea's OCI token endpoint for a bearer token as ``who``."""
        return httpx.get(
            f"{self.url}/v2/token",
            params={"scope": f"repository:{repository}:{actions}", "service": "container_registry"},
            auth=(who.user, who.token),
            timeout=30,
        )


def blob_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()

"""An OCI distribution client: what the build side needs from a registry.

Reading a manifest (to learn whether a version is already published and what
it holds), reading and uploading blobs, and putting a manifest: the
distribution spec's ``/v2/`` API, with :mod:`gitward.artifacts.http` for
authentication and errors. Images are pushed by buildah; charts are pushed
here, as helm lays them out (a config blob of the chart's metadata and one
``tar+gzip`` layer), so ``helm pull oci://…`` reads them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from gitward.artifacts.credentials import REGISTRY, Credentials, lookup
from gitward.artifacts.errors import StoreError
from gitward.artifacts.http import Session, Store
from gitward.artifacts.references import Repository

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    body: bytes = field(repr=False)

    @property
    def doc(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.body)
        except ValueError:
            return {}
        return loaded if isinstance(loaded, dict) else {}

    @property
    def annotations(self) -> dict[str, str]:
        found = self.doc.get("annotations")
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


class Registry:
    """One registry host; credentials from :func:`gitward.artifacts.credentials.lookup`."""

    def __init__(
        self,
        location: Repository,
        *,
        credentials: Credentials | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.location = location
        self.credentials = (
            credentials if credentials is not None else lookup(REGISTRY, location.host)
        )
        self.session = Session(
            store=Store("registry", location.host),
            base_url=location.base_url,
            credentials=self.credentials,
            transport=transport,
        )

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def store(self) -> Store:
        return self.session.store

    def manifest(self, repo: Repository, reference: str) -> Manifest | None:
        """The manifest ``repo:reference`` (a tag or digest), or ``None`` when absent."""
        r = self.session.request(
            "GET", f"/v2/{repo.path}/manifests/{reference}", headers={"Accept": ACCEPT}
        )
        if r.status_code == 404:
            return None
        self._expect(r.status_code, (200,), f"reading {repo}:{reference}")
        return Manifest(
            digest=r.headers.get("Docker-Content-Digest") or sha256(r.content),
            media_type=r.headers.get("Content-Type", "").split(";")[0],
            body=r.content,
        )

    def blob(self, repo: Repository, digest: str) -> bytes:
        r = self.session.request("GET", f"/v2/{repo.path}/blobs/{digest}")
        self._expect(r.status_code, (200,), f"reading blob {digest} of {repo}")
        if sha256(r.content) != digest:
            raise StoreError(f"{self.store}: blob {digest} of {repo} does not match its digest")
        return r.content

    def has_blob(self, repo: Repository, digest: str) -> bool:
        r = self.session.request("HEAD", f"/v2/{repo.path}/blobs/{digest}")
        return r.status_code == 200

    def upload_blob(self, repo: Repository, data: bytes) -> str:
        """Upload ``data`` (once: a blob the repository has is not sent again); its digest.

        The upload is offered in one request (``POST …?digest=`` with the
        body, which Gitea and others accept with ``201``); a registry that
        answers ``202`` instead gets the body in the ``PUT`` the spec's
        two-step upload ends with.
        """
        digest = sha256(data)
        if self.has_blob(repo, digest):
            return digest
        headers = {"Content-Type": "application/octet-stream"}
        started = self.session.request(
            "POST",
            f"/v2/{repo.path}/blobs/uploads/",
            params={"digest": digest},
            content=data,
            headers=headers,
        )
        if started.status_code == 201:
            return digest
        self._expect(started.status_code, (202,), f"starting an upload to {repo}")
        location = started.headers.get("Location", "")
        if not location:
            raise StoreError(f"{self.store}: upload to {repo} started without a Location")
        sep = "&" if "?" in location else "?"
        done = self.session.request(
            "PUT", f"{location}{sep}digest={digest}", content=data, headers=headers
        )
        self._expect(done.status_code, (201,), f"uploading blob {digest} to {repo}")
        return digest

    def put_manifest(self, repo: Repository, tag: str, body: bytes, media_type: str) -> str:
        r = self.session.request(
            "PUT",
            f"/v2/{repo.path}/manifests/{tag}",
            content=body,
            headers={"Content-Type": media_type},
        )
        self._expect(r.status_code, (201,), f"putting manifest {repo}:{tag}")
        return r.headers.get("Docker-Content-Digest") or sha256(body)

    def _expect(self, status: int, ok: tuple[int, ...], doing: str) -> None:
        if status not in ok:
            raise StoreError(f"{self.store}: {doing}: unexpected HTTP {status}")

"""In-memory artifact stores behind httpx.MockTransport: an OCI registry and a ChartMuseum.

Both check credentials like the real ones do (the registry with a Bearer
token challenge, ChartMuseum with Basic), and count writes so tests can
assert that nothing was pushed.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field

import httpx
import yaml


def _basic_ok(request: httpx.Request, user: str, password: str) -> bool:
    want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return bool(request.headers.get("Authorization") == want)


@dataclass
class FakeRegistry:
    user: str = ""
    password: str = ""
    readonly_user: str = ""
    blobs: dict[str, bytes] = field(default_factory=dict)
    manifests: dict[tuple[str, str], tuple[bytes, str]] = field(default_factory=dict)
    writes: int = 0
    tokens: dict[str, str] = field(default_factory=dict)  # token -> user
    monolithic: bool = False  # takes a blob in the POST that starts its upload, as Gitea does
    two_step_uploads: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/token":
            for who in (self.user, self.readonly_user):
                if who and _basic_ok(request, who, self.password):
                    token = uuid.uuid4().hex
                    self.tokens[token] = who
                    return httpx.Response(200, json={"token": token})
            return httpx.Response(401)
        who = ""
        if self.user:
            auth = request.headers.get("Authorization", "")
            who = self.tokens.get(auth.removeprefix("Bearer "), "")
            if not who:
                return httpx.Response(
                    401,
                    headers={
                        "WWW-Authenticate": 'Bearer realm="http://registry.test/token",'
                        'service="registry.test",scope="*"'
                    },
                )
        writing = request.method in ("POST", "PUT", "PATCH", "DELETE")
        if writing and who and who == self.readonly_user:
            return httpx.Response(403)
        rest = path.removeprefix("/v2/")
        if "/manifests/" in rest:
            repo, _, ref = rest.partition("/manifests/")
            if request.method == "PUT":
                self.writes += 1
                body = request.content
                digest = "sha256:" + hashlib.sha256(body).hexdigest()
                media = request.headers["Content-Type"]
                self.manifests[(repo, ref)] = (body, media)
                self.manifests[(repo, digest)] = (body, media)
                return httpx.Response(201, headers={"Docker-Content-Digest": digest})
            found = self.manifests.get((repo, ref))
            if found is None:
                return httpx.Response(404)
            body, media = found
            digest = "sha256:" + hashlib.sha256(body).hexdigest()
            return httpx.Response(
                200, content=body, headers={"Content-Type": media, "Docker-Content-Digest": digest}
            )
        if rest.endswith("/blobs/uploads/"):
            self.writes += 1
            digest = request.url.params.get("digest", "")
            if self.monolithic and digest:
                assert digest == "sha256:" + hashlib.sha256(request.content).hexdigest()
                self.blobs[digest] = request.content
                return httpx.Response(201)
            return httpx.Response(202, headers={"Location": f"/upload/{uuid.uuid4().hex}"})
        if "/blobs/" in rest:
            digest = rest.rpartition("/blobs/")[2]
            if digest not in self.blobs:
                return httpx.Response(404)
            return httpx.Response(200, content=self.blobs[digest])
        if path.startswith("/upload/") and request.method == "PUT":
            self.two_step_uploads += 1
            digest = request.url.params["digest"]
            self.blobs[digest] = request.content
            return httpx.Response(201)
        return httpx.Response(404)


@dataclass
class FakeChartMuseum:
    user: str = ""
    password: str = ""
    charts: dict[tuple[str, str], bytes] = field(default_factory=dict)
    uploads: int = 0
    down: bool = False

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if self.user and not _basic_ok(request, self.user, self.password):
            return httpx.Response(401)
        path = request.url.path.removeprefix("/repo")
        if path == "/index.yaml":
            entries: dict[str, list[dict[str, object]]] = {}
            for name, version in self.charts:
                entries.setdefault(name, []).append(
                    {"name": name, "version": version, "urls": [f"charts/{name}-{version}.tgz"]}
                )
            return httpx.Response(
                200, text=yaml.safe_dump({"apiVersion": "v1", "entries": entries})
            )
        if path.startswith("/charts/"):
            for (name, version), tgz in self.charts.items():
                if path == f"/charts/{name}-{version}.tgz":
                    return httpx.Response(200, content=tgz)
            return httpx.Response(404)
        if path == "/api/charts" and request.method == "POST":
            import io
            import tarfile

            with tarfile.open(fileobj=io.BytesIO(request.content), mode="r:gz") as tar:
                member = next(m for m in tar if m.name.endswith("/Chart.yaml"))
                extracted = tar.extractfile(member)
                assert extracted is not None
                meta = yaml.safe_load(extracted.read())
            key = (meta["name"], str(meta["version"]))
            if key in self.charts:
                return httpx.Response(409, json={"error": "file already exists"})
            self.uploads += 1
            self.charts[key] = request.content
            return httpx.Response(201, json={"saved": True})
        return httpx.Response(404)


def make_chart(name: str = "hello", version: str = "1.0.0", extra: str = "") -> bytes:
    """A packaged chart as bytes (only the files that matter here)."""
    import io
    import tarfile
    import time

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for fname, text in (
            ("Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: {version}\n"),
            ("values.yaml", f"x: 1\n{extra}"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{fname}")
            info.size = len(data)
            info.mtime = int(time.time() * 1000) % 100000  # differs between calls, like helm's
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()

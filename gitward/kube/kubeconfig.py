"""Reading a kubeconfig into what an HTTPS client needs.

Only the pieces gitward uses: server, CA, client certificate, bearer token,
and the in-cluster service-account form. Exec plugins and auth providers are
out of scope; a kubeconfig that needs them is rejected with a clear error.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitward.errors import ConfigError

_SA_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


@dataclass(frozen=True)
class KubeConfig:
    server: str
    ca_data: bytes | None = None
    cert_data: bytes | None = None
    key_data: bytes | None = None
    token: str | None = None
    insecure: bool = False
    namespace: str = "default"
    source: str = ""

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data:
            ctx.load_verify_locations(cadata=self.ca_data.decode())
        if self.cert_data and self.key_data:
            # ssl can only load a client certificate from files.
            with tempfile.TemporaryDirectory(prefix="gitward-tls-") as d:
                cert, key = Path(d) / "tls.crt", Path(d) / "tls.key"
                cert.write_bytes(self.cert_data)
                key.touch(mode=0o600)
                key.write_bytes(self.key_data)
                ctx.load_cert_chain(str(cert), str(key))
        return ctx


def _data(entry: dict[str, Any], key: str, base: Path) -> bytes | None:
    if entry.get(f"{key}-data"):
        return base64.b64decode(entry[f"{key}-data"])
    if entry.get(key):
        p = Path(entry[key])
        return (p if p.is_absolute() else base / p).read_bytes()
    return None


def _default_path() -> Path:
    env = os.environ.get("KUBECONFIG")
    if env:
        return Path(env.split(os.pathsep)[0])
    return Path.home() / ".kube" / "config"


def load_kubeconfig(path: Path | None = None, *, context: str | None = None) -> KubeConfig:
    """Load ``path`` (default: ``$KUBECONFIG``, ``~/.kube/config``, the pod's service account)."""
    path = path or _default_path()
    if not path.exists() and (_SA_DIR / "token").exists():
        return _in_cluster()
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError as e:
        raise ConfigError(f"{path}: kubeconfig not found; set KUBECONFIG") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    name = context or doc.get("current-context")
    ctx = _named(doc, "contexts", name, path).get("context", {})
    cluster = _named(doc, "clusters", ctx.get("cluster"), path).get("cluster", {})
    user = _named(doc, "users", ctx.get("user"), path).get("user", {}) if ctx.get("user") else {}
    if user.get("exec") or user.get("auth-provider"):
        raise ConfigError(
            f"{path}: user {ctx.get('user')!r} needs an exec/auth plugin, unsupported"
        )
    base = path.parent
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(user["tokenFile"]).read_text().strip()
    try:
        return KubeConfig(
            server=str(cluster["server"]).rstrip("/"),
            ca_data=_data(cluster, "certificate-authority", base),
            cert_data=_data(user, "client-certificate", base),
            key_data=_data(user, "client-key", base),
            token=token,
            insecure=bool(cluster.get("insecure-skip-tls-verify")),
            namespace=str(ctx.get("namespace") or "default"),
            source=str(path),
        )
    except (KeyError, OSError, ValueError) as e:
        raise ConfigError(f"{path}: incomplete kubeconfig: {e}") from e


def _named(doc: dict[str, Any], section: str, name: Any, path: Path) -> dict[str, Any]:
    for entry in doc.get(section) or []:
        if entry.get("name") == name:
            return dict(entry)
    raise ConfigError(f"{path}: no {section[:-1]} named {name!r}")


def _in_cluster() -> KubeConfig:
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "kubernetes.default.svc")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    return KubeConfig(
        server=f"https://{host}:{port}",
        ca_data=(_SA_DIR / "ca.crt").read_bytes(),
        token=(_SA_DIR / "token").read_text().strip(),
        namespace=(_SA_DIR / "namespace").read_text().strip(),
        source="in-cluster",
    )

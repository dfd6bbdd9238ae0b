"""An umbrella chart in the config repository -> objects, through ``helm``.

The pattern (Stakater's "GitOps with Jenkins"): an app directory is a chart
whose only job is to pin other charts. Its dependencies live in
``requirements.yaml`` (chart ``apiVersion: v1``) or in ``Chart.yaml``
(``v2``), and next to them one values file per subchart, named after its
alias or name (``xposer.yaml``); its content configures that subchart. A
version bump is a one-line pull request to the dependency list plus its
lock.

How a render goes, and why:

1. Read the dependency list and the lock (``requirements.lock`` /
   ``Chart.lock``) ourselves and compare name, repository and exact version.
   Helm only says "the lock file is out of sync"; we say which chart and
   what to run. Helm's own digest check still runs afterwards and catches
   the rest (a changed range, condition or alias).
2. Copy the chart into a scratch directory, never building into the
   checkout. ``file://`` dependencies given as relative paths are copied to
   the same relative place, so ``file://../../charts/web`` still resolves;
   a ``file://`` path must stay inside the repository.
3. ``helm dependency build`` from the lock. Without a lock, ``helm
   dependency update`` resolves the ranges instead (the result can then
   change as repositories publish, so such renders are never cached).
   Built ``.tgz`` archives are kept in a chart cache keyed by everything the
   build reads (the lock, ``Chart.yaml``, ``requirements.yaml``, ``charts/``
   and the ``file://`` trees): an unchanged lock is never downloaded twice.
   Like a vendored ``charts/`` directory, this trusts that a published chart
   version does not change; clear ``<cache>/helm/charts`` if one did.
4. ``helm template <release> <dir> --namespace <ns> --include-crds`` with,
   lowest precedence first: the chart's ``values.yaml`` (helm reads it),
   one generated ``{<alias or name>: <content of that file>}`` values file
   per subchart in dependency order, then the app's ``valuesFiles``. Hooks
   are kept; the plan layer orders them by their ``helm.sh/hook``
   annotations.

What we found about helm v4.3.1 (checked against its source and by running
it):

* ``requirements.yaml``/``requirements.lock`` still work for ``apiVersion:
  v1`` charts (deprecated: helm logs a warning and reads them into the
  chart's metadata); ``dependency update`` writes ``requirements.lock`` for
  them.
* ``helm dependency update`` accepts an ``https://``/``http://`` repository
  that was never added: it registers a temporary ``helm-manager-<sha>`` repo.
  ``helm dependency build`` does not: it fails with "no repository
  definition for <url>" unless ``repositories.yaml`` has an entry for that
  URL. So for every render we write a ``repositories.yaml`` holding exactly
  the chart's classic repositories, named ``gitward-<sha256(url)[:16]>``,
  and point ``HELM_REPOSITORY_CONFIG`` at it; their indexes are cached
  under ``HELM_CACHE_HOME``. (Build refreshes every repository in that
  file, which is why it holds only this chart's.)
* OCI registries are always spoken to over TLS, loopback included; there is
  no environment variable or registry-config setting for plain HTTP. The
  only switch is ``--plain-http`` on ``dependency build``/``update``, and it
  applies to every OCI dependency of the command. We pass it when every OCI
  dependency is on a loopback host (``localhost``, ``127.0.0.0/8``,
  ``::1``), the same hosts Docker treats as insecure registries by default,
  and refuse a chart that mixes loopback and remote OCI registries.
* Helm's content cache (``HELM_CONTENT_CACHE``) does not help
  ``dependency build``: charts from classic repositories are fetched by URL
  without a digest, and downloads are never written back to it. Hence our
  own chart cache above.
* ``helm template`` errors span several lines (``Error: <chart>/templates/
  x.yaml:1:13`` then the cause, indented); we join them into one.

Helm never sees the user's own configuration nor gitward's secrets: it runs
with an allow-listed environment (:data:`gitward.programs.HELM`), and
``HOME``/``HELM_CACHE_HOME``/``HELM_CONFIG_HOME``/``HELM_DATA_HOME`` point
under ``cache_root()/helm`` (so there are no registry logins and no named
repositories: a dependency on ``@stable`` is an error). A chart's templates
can read any file of the chart (``.Files.Get``), so every file in the trees
that are copied for helm is checked first: no symlink may lead out of the
checkout (:mod:`gitward.repofiles`). Every helm run has a timeout.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from gitward import repofiles
from gitward.errors import RenderError
from gitward.objects import Manifest
from gitward.programs import HELM
from gitward.render.directory import read_text
from gitward.render.documents import iter_documents, load_single, manifests_from
from gitward.render.results import ChartDependency
from gitward.render.running import ToolRun, first_error_line, run_tool
from gitward.tools import cache_root, find_tool

DEFAULT_TIMEOUT = 300.0
"""Seconds one helm command may run (dependency downloads included)."""

_EXACT_VERSION = re.compile(r"^[v=]?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


# -- the chart as declared


@dataclass(frozen=True)
class Dependency:
    """One entry of the dependency list, as the chart declares it."""

    name: str
    version: str
    repository: str
    alias: str = ""
    condition: str = ""
    tags: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The values key (and values file stem) of this subchart."""
        return self.alias or self.name

    @property
    def scheme(self) -> str:
        """``""`` (vendored in ``charts/``), ``file``, ``oci``, ``http`` or ``https``."""
        return self.repository.split("://", 1)[0].lower() if "://" in self.repository else ""


@dataclass(frozen=True)
class LockEntry:
    name: str
    version: str
    repository: str


@dataclass(frozen=True)
class UmbrellaChart:
    """What gitward reads from an umbrella chart before running helm."""

    app_dir: Path
    label: str
    name: str
    api_version: str
    dependencies: tuple[Dependency, ...]
    deps_file: str
    lock_file: str
    lock: tuple[LockEntry, ...] | None
    lock_digest: str | None

    def where(self, filename: str) -> str:
        return _join(self.label, filename)

    @property
    def cacheable(self) -> bool:
        """A render is reproducible from the checkout alone: locked, or nothing remote."""
        return self.lock is not None or all(d.scheme in ("", "file") for d in self.dependencies)


def read_chart(*, app_dir: Path, label: str, root: Path | None = None) -> UmbrellaChart:
    """Parse ``Chart.yaml``, the dependency list and the lock; validate what helm won't.

    Each must resolve inside the checkout ``root`` (default: ``app_dir``).
    """
    root = repofiles.real(root if root is not None else app_dir)

    def _mapping_file(path: Path, *, subject: str) -> dict[str, Any] | None:
        return _mapping_file_in(path, root=root, subject=subject)

    chart_yaml = _mapping_file(app_dir / "Chart.yaml", subject=_join(label, "Chart.yaml"))
    if chart_yaml is None:
        raise RenderError(f"{_join(label, 'Chart.yaml')}: is empty")
    api_version = str(chart_yaml.get("apiVersion") or "v1")
    name = str(chart_yaml.get("name") or "")
    if not name:
        raise RenderError(f"{_join(label, 'Chart.yaml')}: has no name")
    if api_version == "v1":
        deps_file, lock_file = "requirements.yaml", "requirements.lock"
        declared = _mapping_file(app_dir / deps_file, subject=_join(label, deps_file)) or {}
    else:
        deps_file, lock_file = "Chart.yaml", "Chart.lock"
        declared = chart_yaml
    dependencies = _dependencies(declared.get("dependencies"), subject=_join(label, deps_file))
    lock_data = _mapping_file(app_dir / lock_file, subject=_join(label, lock_file))
    lock: tuple[LockEntry, ...] | None = None
    lock_digest: str | None = None
    if (app_dir / lock_file).exists():
        lock_data = lock_data or {}
        lock = _lock_entries(lock_data.get("dependencies"), subject=_join(label, lock_file))
        lock_digest = str(lock_data.get("digest") or "") or None
    chart = UmbrellaChart(
        app_dir=app_dir,
        label=label,
        name=name,
        api_version=api_version,
        dependencies=dependencies,
        deps_file=deps_file,
        lock_file=lock_file,
        lock=lock,
        lock_digest=lock_digest,
    )
    for dep in dependencies:
        _check_repository(chart, dep)
    return chart


def _mapping_file_in(path: Path, *, root: Path, subject: str) -> dict[str, Any] | None:
    if not path.exists() and not path.is_symlink():
        return None
    data = load_single(read_text(path, root=root, subject=subject), subject=subject)
    if data is None:
        return None
    if not isinstance(data, dict):
        raise RenderError(f"{subject}:1: expected a mapping, found a {type(data).__name__}")
    return data


def _dependencies(raw: Any, *, subject: str) -> tuple[Dependency, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RenderError(f"{subject}: dependencies must be a list")
    out: list[Dependency] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("name"):
            raise RenderError(f"{subject}: dependency {index + 1} has no name")
        tags = item.get("tags") or ()
        out.append(
            Dependency(
                name=str(item["name"]),
                version=str(item.get("version") or ""),
                repository=str(item.get("repository") or ""),
                alias=str(item.get("alias") or ""),
                condition=str(item.get("condition") or ""),
                tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (str(tags),),
            )
        )
    return tuple(out)


def _lock_entries(raw: Any, *, subject: str) -> tuple[LockEntry, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise RenderError(f"{subject}: dependencies must be a list")
    out: list[LockEntry] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not item.get("name"):
            raise RenderError(f"{subject}: locked dependency {index + 1} has no name")
        out.append(
            LockEntry(
                name=str(item["name"]),
                version=str(item.get("version") or ""),
                repository=str(item.get("repository") or ""),
            )
        )
    return tuple(out)


def _check_repository(chart: UmbrellaChart, dep: Dependency) -> None:
    where = chart.where(chart.deps_file)
    repo = dep.repository
    if repo.startswith(("@", "alias:")):
        raise RenderError(
            f"{where}: chart {dep.name}: repository {repo!r} names a repository from helm's "
            "own configuration, which gitward does not read; use the repository's URL"
        )
    if dep.scheme not in ("", "file", "oci", "http", "https"):
        raise RenderError(
            f"{where}: chart {dep.name}: repository {repo!r} is not an https://, http://, "
            "oci:// or file:// URL"
        )


def check_lock(chart: UmbrellaChart) -> None:
    """Fail, naming the chart, when the lock does not pin what the chart asks for.

    Ranges (``~1.2``) are left to helm's own digest check; exact versions,
    repositories and the set of charts are compared here.
    """
    if chart.lock is None:
        return
    where = chart.where(chart.lock_file)
    hint = "run 'helm dependency update'"
    unused = list(chart.lock)
    for dep in chart.dependencies:
        entry = next((e for e in unused if e.name == dep.name), None)
        if entry is None:
            raise RenderError(
                f"{where}: chart {dep.name} is not locked but {chart.deps_file} asks for it; {hint}"
            )
        unused.remove(entry)
        if _norm_url(entry.repository) != _norm_url(dep.repository):
            raise RenderError(
                f"{where}: chart {dep.name} is locked from {entry.repository or '(none)'} "
                f"but {chart.deps_file} asks for {dep.repository or '(none)'}; {hint}"
            )
        if _EXACT_VERSION.match(dep.version) and _norm_version(dep.version) != _norm_version(
            entry.version
        ):
            raise RenderError(
                f"{where}: chart {dep.name} is locked at {entry.version} "
                f"but {chart.deps_file} asks for {dep.version}; {hint}"
            )
    for entry in unused:
        raise RenderError(
            f"{where}: chart {entry.name} is locked but {chart.deps_file} no longer asks for it; "
            f"{hint}"
        )


def _norm_url(url: str) -> str:
    return url.rstrip("/")


def _norm_version(version: str) -> str:
    return version.lstrip("v=")


# -- paths the render reads


def local_chart_dirs(chart: UmbrellaChart, *, root: Path) -> dict[Dependency, Path]:
    """The directory each ``file://`` dependency points at; it must be inside ``root``."""
    root = repofiles.real(root)
    out: dict[Dependency, Path] = {}
    for dep in chart.dependencies:
        if dep.scheme != "file":
            continue
        raw = dep.repository[len("file://") :]
        target = Path(os.path.normpath(chart.app_dir / raw))
        where = chart.where(chart.deps_file)
        if not _inside(target, root):
            raise RenderError(
                f"{where}: chart {dep.name}: {dep.repository} is outside the repository"
            )
        subject = f"{where}: chart {dep.name}: {dep.repository}"
        target = repofiles.resolve_inside(target, root=root, subject=subject, error=RenderError)
        if not (target / "Chart.yaml").is_file():
            raise RenderError(
                f"{where}: chart {dep.name}: {dep.repository} is not a chart directory "
                f"({_rel(target, root)}/Chart.yaml not found)"
            )
        # helm copies and reads the whole chart (templates, .Files.Get).
        repofiles.check_tree(target, root=root, label=_rel(target, root), error=RenderError)
        out[dep] = target
    return out


def values_file_paths(values_files: tuple[str, ...], *, app_dir: Path, root: Path) -> list[Path]:
    """The app's ``valuesFiles``, resolved against the app dir; each must exist in the repo."""
    root = repofiles.real(root)
    out: list[Path] = []
    for name in values_files:
        path = Path(os.path.normpath(app_dir / name))
        if not _inside(path, root):
            raise RenderError(
                f"{_rel(app_dir, root)}: values file {name} is outside the repository"
            )
        subject = f"{_rel(path, root)} (values file)"
        path = repofiles.resolve_inside(path, root=root, subject=subject, error=RenderError)
        if not path.is_file():
            raise RenderError(f"{_rel(path, root)}: values file not found")
        out.append(path)
    return out


def helm_identity() -> str:
    """Which helm binary renders: its path, size and modification time.

    Cheap (a ``stat``, not a ``helm version`` run), so a render cache hit
    starts no process at all; a rebuilt or replaced helm changes it.
    """
    path = find_tool("helm")
    try:
        st = path.stat()
    except OSError:
        return str(path)
    return f"{path}|{st.st_size}|{st.st_mtime_ns}"


# -- running helm


def helm_home() -> Path:
    return cache_root() / "helm"


def helm_env(*, repository_config: Path) -> dict[str, str]:
    """What helm gets on top of :data:`gitward.programs.HELM`'s allowed environment.

    Its homes are gitward's, not the user's, and ``HOME`` points there too, so
    helm finds no registry login, plugin or config of the user's.
    """
    home = helm_home()
    return {
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "HELM_REPOSITORY_CONFIG": str(repository_config),
        "HELM_NO_PLUGINS": "1",
        "NO_COLOR": "1",
    }


def repository_name(url: str) -> str:
    """The name gitward gives a classic chart repository in its generated config."""
    return "gitward-" + hashlib.sha256(_norm_url(url).encode()).hexdigest()[:16]


def repositories_yaml(dependencies: tuple[Dependency, ...]) -> str:
    """A ``repositories.yaml`` with exactly the classic repositories of ``dependencies``."""
    urls = sorted({_norm_url(d.repository) for d in dependencies if d.scheme in ("http", "https")})
    entries = [{"name": repository_name(u), "url": u} for u in urls]
    # JSON is YAML, and helm reads this file with a YAML-to-JSON decoder.
    return json.dumps({"apiVersion": "", "repositories": entries}, indent=2) + "\n"


def plain_http(chart: UmbrellaChart) -> bool:
    """Whether ``--plain-http`` is needed: every OCI dependency is on a loopback host."""
    hosts = {_host(d.repository) for d in chart.dependencies if d.scheme == "oci"}
    loopback = {h for h in hosts if _is_loopback(h)}
    if loopback and loopback != hosts:
        raise RenderError(
            f"{chart.where(chart.deps_file)}: OCI dependencies mix loopback registries "
            f"({', '.join(sorted(loopback))}, plain HTTP) with remote ones "
            f"({', '.join(sorted(hosts - loopback))}, TLS); helm can only do one per chart"
        )
    return bool(loopback)


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HelmRender:
    manifests: list[Manifest]
    charts: list[ChartDependency]


def render_helm(
    *,
    chart: UmbrellaChart,
    root: Path,
    release: str,
    namespace: str,
    values_files: tuple[str, ...],
    timeout: float = DEFAULT_TIMEOUT,
) -> HelmRender:
    """Build the umbrella chart's dependencies in scratch space and template it."""
    check_lock(chart)
    root = repofiles.real(root)
    # The whole app dir is copied for helm, which may read any file of it.
    repofiles.check_tree(chart.app_dir, root=root, label=chart.label, error=RenderError)
    local_dirs = local_chart_dirs(chart, root=root)
    extra_values = values_file_paths(values_files, app_dir=chart.app_dir, root=root)
    for path in [chart.app_dir / "values.yaml", *extra_values]:
        if path.is_file():
            _values_mapping(path, root=root, subject=_rel(path, root), what="values")
    per_chart = _per_chart_values(chart, root=root)
    use_plain_http = plain_http(chart)
    helm = str(find_tool("helm"))
    home = helm_home()
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="gitward-helm-") as tmp:
        scratch = Path(tmp)
        chart_dir = _mirror(chart, local_dirs, root=root, into=scratch / "tree")
        repo_config = scratch / "repositories.yaml"
        repo_config.write_text(repositories_yaml(chart.dependencies))
        env = helm_env(repository_config=repo_config)
        if chart.dependencies:
            _build_dependencies(
                chart,
                chart_dir=chart_dir,
                helm=helm,
                env=env,
                plain=use_plain_http,
                local_dirs=local_dirs,
                timeout=timeout,
            )
        args = [helm, "template", release, str(chart_dir), "--namespace", namespace]
        args.append("--include-crds")
        values_dir = scratch / "values"
        values_dir.mkdir()
        for index, (key, content) in enumerate(per_chart):
            path = values_dir / f"{index:03d}-{key}.yaml"
            path.write_text(json.dumps({key: content}, indent=1) + "\n")
            args += ["--values", str(path)]
        for path in extra_values:
            args += ["--values", str(path)]
        run = run_tool(
            HELM, args, what=f"chart {chart.name}: helm template", timeout=timeout, env=env
        )
        if not run.ok:
            raise RenderError(_template_error(chart, run))
        manifests = parse_template_output(run.out, label=chart.label)
        charts = _chart_dependencies(chart, chart_dir)
    return HelmRender(manifests=manifests, charts=charts)


# Files a chart already gives a meaning to; a subchart with such a key gets no values file.
_RESERVED_STEMS = frozenset({"values", "Chart", "requirements"})


def _per_chart_values(chart: UmbrellaChart, *, root: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(key, content)`` of each subchart's values file, in dependency order."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    for dep in chart.dependencies:
        key = dep.key
        if key in seen or key in _RESERVED_STEMS:
            continue
        seen.add(key)
        path = chart.app_dir / f"{key}.yaml"
        if not path.is_file():
            continue
        content = _values_mapping(
            path, root=root, subject=chart.where(path.name), what=f"values for chart {key}"
        )
        if content is not None:
            out.append((key, content))
    return out


def _values_mapping(path: Path, *, root: Path, subject: str, what: str) -> dict[str, Any] | None:
    """A values file's content: a mapping, or ``None`` when empty; errors carry file:line."""
    content = load_single(read_text(path, root=root, subject=subject), subject=subject)
    if content is None or isinstance(content, dict):
        return content
    raise RenderError(f"{subject}:1: {what} must be a mapping, not a {type(content).__name__}")


def _mirror(
    chart: UmbrellaChart, local_dirs: Mapping[Dependency, Path], *, root: Path, into: Path
) -> Path:
    """Copy the app dir and its ``file://`` charts to the same relative places under ``into``.

    Each ``file://`` chart goes where its path, read from the app dir, says
    (helm resolves it the same way), whichever in-repo link it was reached
    through. Links are copied as the files they point to: all were checked
    to stay inside the checkout.
    """
    app_dir = repofiles.real(chart.app_dir)
    copies = [(app_dir, app_dir)]
    for dep, target in local_dirs.items():
        spelled = Path(os.path.normpath(app_dir / dep.repository[len("file://") :]))
        if not _inside(spelled, app_dir):
            copies.append((target, spelled))
    for source, place in copies:
        shutil.copytree(
            source,
            into / place.relative_to(root),
            ignore=shutil.ignore_patterns(".git"),
            ignore_dangling_symlinks=True,
            dirs_exist_ok=True,
        )
    return into / app_dir.relative_to(root)


# -- dependency build and its cache


def _build_dependencies(
    chart: UmbrellaChart,
    *,
    chart_dir: Path,
    helm: str,
    env: Mapping[str, str],
    plain: bool,
    local_dirs: Mapping[Dependency, Path],
    timeout: float,
) -> None:
    key = _chart_cache_key(chart, plain=plain, local_dirs=local_dirs) if chart.lock else None
    if key is not None and _restore_built_charts(key, chart_dir):
        return
    verb = "build" if chart.lock is not None else "update"
    args = [helm, "dependency", verb, str(chart_dir)]
    if plain:
        args.append("--plain-http")
    run = run_tool(
        HELM, args, what=f"chart {chart.name}: helm dependency {verb}", timeout=timeout, env=env
    )
    if not run.ok:
        raise _dependency_error(chart, run, verb=verb)
    if key is not None:
        _store_built_charts(key, chart_dir)


def _chart_cache_dir() -> Path:
    return helm_home() / "charts"


def _chart_cache_key(
    chart: UmbrellaChart, *, plain: bool, local_dirs: Mapping[Dependency, Path]
) -> str:
    digest = hashlib.sha256()
    digest.update(f"gitward-charts-v1\0{helm_identity()}\0{plain}\0".encode())
    for name in ("Chart.yaml", "requirements.yaml", chart.lock_file):
        path = chart.app_dir / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"-")
        digest.update(b"\0")
    trees = [("charts", chart.app_dir / "charts")]
    trees += [(d.repository, p) for d, p in local_dirs.items()]
    for label, tree in trees:
        digest.update(label.encode() + b"\0")
        for rel, data in _tree_files(tree):
            digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def _tree_files(tree: Path) -> Iterator[tuple[str, bytes]]:
    if not tree.is_dir():
        return
    files = [p for p in tree.rglob("*") if p.is_file() and ".git" not in p.relative_to(tree).parts]
    for path in sorted(files, key=lambda p: p.relative_to(tree).as_posix()):
        yield path.relative_to(tree).as_posix(), path.read_bytes()


def _restore_built_charts(key: str, chart_dir: Path) -> bool:
    cached = _chart_cache_dir() / key
    if not cached.is_dir():
        return False
    charts = chart_dir / "charts"
    charts.mkdir(exist_ok=True)
    for old in charts.glob("*.tgz"):
        old.unlink()
    for archive in sorted(cached.glob("*.tgz")):
        shutil.copy2(archive, charts / archive.name)
    return True


def _store_built_charts(key: str, chart_dir: Path) -> None:
    parent = _chart_cache_dir()
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / key
    if final.exists():
        return
    staging = Path(tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=parent))
    try:
        for archive in sorted((chart_dir / "charts").glob("*.tgz")):
            shutil.copy2(archive, staging / archive.name)
        os.rename(staging, final)
    except OSError:
        # Another render stored the same key first, or the cache is read-only:
        # either way this render already has its charts.
        shutil.rmtree(staging, ignore_errors=True)


# -- reading what helm says

_UNREACHABLE_REPO = re.compile(
    r'Unable to get an update from the "[^"]*" chart repository \((?P<url>[^)\s]+)\):\s*\n'
    r"\s*(?P<reason>.+)"
)
_NO_VALID_VERSION = re.compile(
    r'"(?P<name>[^"]+)" \(repository "(?P<repo>[^"]*)", version "(?P<version>[^"]*)"\)'
)
_COULD_NOT_DOWNLOAD = re.compile(r"could not download (?P<url>\S+): (?P<rest>.*)")
_NETWORK = (
    "dial tcp",
    "connection refused",
    "no such host",
    "i/o timeout",
    "network is unreachable",
    "TLS handshake",
    "server gave HTTP response to HTTPS client",
    "certificate",
    "EOF",
)


def _dependency_error(chart: UmbrellaChart, run: ToolRun, *, verb: str) -> RenderError:
    output = run.out + "\n" + run.err
    line = first_error_line(run.err or run.out)
    unreachable = {
        _norm_url(m.group("url")): _reason(m.group("reason"))
        for m in _UNREACHABLE_REPO.finditer(output)
    }
    for match in _NO_VALID_VERSION.finditer(line):
        repo = _norm_url(match.group("repo"))
        if repo in unreachable:
            return _unreachable(match.group("name"), repo, unreachable[repo])
        return _not_found(match.group("name"), match.group("version"), repo)
    download = _COULD_NOT_DOWNLOAD.search(line)
    if download:
        dep = _dependency_for_url(chart, download.group("url"))
        rest = download.group("rest")
        if dep is not None:
            version = _locked_version(chart, dep)
            if any(marker in rest for marker in _NETWORK):
                return _unreachable(dep.name, dep.repository, _reason(rest))
            if rest.rstrip().endswith("not found"):
                return _not_found(dep.name, version, dep.repository)
    for dep in chart.dependencies:
        # Helm reads the index it just failed to refresh: "open .../<name>-index.yaml: ..."
        if dep.scheme in ("http", "https") and repository_name(dep.repository) in line:
            repo = _norm_url(dep.repository)
            if repo in unreachable:
                return _unreachable(dep.name, dep.repository, unreachable[repo])
            return RenderError(
                f"chart {dep.name}: repository {dep.repository} has no readable index.yaml"
            )
    if "no matching version" in line:
        missing = _missing_from_index(chart, unreachable)
        if missing is not None:
            return missing
    if "out of sync" in line:
        return RenderError(f"{chart.where(chart.lock_file)}: {line}")
    return RenderError(f"chart {chart.name}: helm dependency {verb} failed: {line}")


def _not_found(name: str, version: str, repository: str) -> RenderError:
    return RenderError(f"chart {name} version {version} not found in {repository}")


def _unreachable(name: str, repository: str, reason: str) -> RenderError:
    return RenderError(f"chart {name}: repository {repository} is unreachable: {reason}")


def _reason(text: str) -> str:
    """``dial tcp 127.0.0.1:1: connect: connection refused`` out of a Go error chain."""
    text = " ".join(text.split())
    for marker in ("dial tcp", "lookup "):
        at = text.find(marker)
        if at >= 0:
            return text[at:]
    return text


def _dependency_for_url(chart: UmbrellaChart, url: str) -> Dependency | None:
    for dep in chart.dependencies:
        if dep.scheme == "oci" and _norm_url(url) == f"{_norm_url(dep.repository)}/{dep.name}":
            return dep
    for dep in chart.dependencies:
        if dep.scheme in ("http", "https") and url.startswith(_norm_url(dep.repository) + "/"):
            return dep
    return None


def _locked_version(chart: UmbrellaChart, dep: Dependency) -> str:
    for entry in chart.lock or ():
        if entry.name == dep.name and _norm_url(entry.repository) == _norm_url(dep.repository):
            return entry.version
    return dep.version


def _missing_from_index(chart: UmbrellaChart, unreachable: Mapping[str, str]) -> RenderError | None:
    """Which locked chart the refreshed repository index lacks ("no matching version")."""
    index_dir = helm_home() / "cache" / "repository"
    for dep in chart.dependencies:
        if dep.scheme not in ("http", "https"):
            continue
        repo = _norm_url(dep.repository)
        version = _locked_version(chart, dep)
        if repo in unreachable:
            return _unreachable(dep.name, dep.repository, unreachable[repo])
        index = index_dir / f"{repository_name(repo)}-index.yaml"
        try:
            data = load_single(index.read_text(encoding="utf-8"), subject=str(index))
        except (OSError, RenderError):
            continue
        entries = (data or {}).get("entries", {}) if isinstance(data, dict) else {}
        versions = {
            str(e.get("version")) for e in entries.get(dep.name) or [] if isinstance(e, dict)
        }
        if _norm_version(version) not in {_norm_version(v) for v in versions}:
            return _not_found(dep.name, version, dep.repository)
    return None


_TEMPLATE_AT = re.compile(
    r"^(?P<chart>[^/\s]+)/(?P<path>\S+?):(?P<line>\d+)(?::\d+)?:?\s+(?P<rest>.*)$"
)


def _template_error(chart: UmbrellaChart, run: ToolRun) -> str:
    message = _error_paragraph(run.err) or first_error_line(run.err or run.out)
    match = _TEMPLATE_AT.match(message)
    if match:
        return f"{chart.where(match.group('path'))}:{match.group('line')}: {match.group('rest')}"
    return f"chart {chart.name}: helm template failed: {message}"


def _error_paragraph(output: str) -> str:
    """The ``Error:`` line and its indented continuation, joined into one line."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Error: "):
            parts = [line[len("Error: ") :].strip()]
            for more in lines[index + 1 :]:
                if not more.strip() or not more[:1].isspace():
                    break
                parts.append(more.strip())
            return " ".join(parts)
    return ""


# -- template output

_SOURCE = "# Source: "


def parse_template_output(text: str, *, label: str) -> list[Manifest]:
    """Objects of ``helm template`` output; each ``source`` is its template, app-relative.

    Helm prints ``---`` and ``# Source: <chart>/<path>`` before every
    document; ``<path>`` is relative to the umbrella chart, i.e. to the app.
    """
    out: list[Manifest] = []
    for source, chunk in _split_sources(text):
        subject = f"{_join(label, source)} (rendered)"
        out.extend(
            manifests_from(iter_documents(chunk, subject=subject), subject=subject, source=source)
        )
    return out


def _split_sources(text: str) -> Iterator[tuple[str, str]]:
    lines = text.splitlines()
    source = "."
    chunk: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if line.rstrip() == "---" and nxt.startswith(_SOURCE):
            if any(c.strip() for c in chunk):
                yield source, "\n".join(chunk) + "\n"
            path = PurePosixPath(nxt[len(_SOURCE) :].strip())
            source = PurePosixPath(*path.parts[1:]).as_posix() if len(path.parts) > 1 else "."
            chunk = []
            index += 2
            continue
        chunk.append(line)
        index += 1
    if any(c.strip() for c in chunk):
        yield source, "\n".join(chunk) + "\n"


# -- what was built


def _chart_dependencies(chart: UmbrellaChart, chart_dir: Path) -> list[ChartDependency]:
    built_lock = _lock_after_build(chart, chart_dir)
    unused = list(built_lock)
    out: list[ChartDependency] = []
    for dep in chart.dependencies:
        entry = next((e for e in unused if e.name == dep.name), None)
        if entry is not None:
            unused.remove(entry)
        version = entry.version if entry is not None and entry.version else dep.version
        archive = chart_dir / "charts" / f"{dep.name}-{version}.tgz"
        digest = None
        if archive.is_file():
            digest = "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
        out.append(
            ChartDependency(
                name=dep.name,
                alias=dep.alias,
                version=version,
                repository=dep.repository,
                digest=digest,
            )
        )
    return out


def _lock_after_build(chart: UmbrellaChart, chart_dir: Path) -> tuple[LockEntry, ...]:
    if chart.lock is not None:
        return chart.lock
    path = chart_dir / chart.lock_file
    if not path.is_file():
        return ()
    data = load_single(path.read_text(encoding="utf-8"), subject=chart.where(chart.lock_file))
    if not isinstance(data, dict):
        return ()
    return _lock_entries(data.get("dependencies"), subject=chart.where(chart.lock_file))


# -- small path helpers


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix() or "."
    except ValueError:
        return path.as_posix()


def _join(label: str, name: str) -> str:
    return name if label in ("", ".") else f"{label}/{name}"

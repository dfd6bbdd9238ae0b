"""Helm's error text, read for the one line a user needs: which chart, what to do.

Helm reports a failed dependency build as a Go error chain, often after
warnings about every repository it could not refresh, and a failed template
over several lines (``Error: <chart>/templates/x.yaml:1:13`` then the cause,
indented). These functions turn that into a :class:`RenderError` that starts
with the chart or the template file and line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gitward.errors import RenderError
from gitward.programs import ProgramRun, first_error_line
from gitward.render.documents import load_single
from gitward.render.helm.binary import helm_home, repository_name
from gitward.render.helm.charts import (
    Dependency,
    UmbrellaChart,
    locked_version,
    norm_url,
    norm_version,
)

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


def dependency_error(chart: UmbrellaChart, run: ProgramRun, *, verb: str) -> RenderError:
    """What a failed ``helm dependency build|update`` means, naming the chart at fault."""
    output = run.out + "\n" + run.err
    line = first_error_line(run.err or run.out)
    unreachable = {
        norm_url(m.group("url")): _reason(m.group("reason"))
        for m in _UNREACHABLE_REPO.finditer(output)
    }
    for match in _NO_VALID_VERSION.finditer(line):
        repo = norm_url(match.group("repo"))
        if repo in unreachable:
            return _unreachable(match.group("name"), repo, unreachable[repo])
        return _not_found(match.group("name"), match.group("version"), repo)
    download = _COULD_NOT_DOWNLOAD.search(line)
    if download:
        dep = _dependency_for_url(chart, download.group("url"))
        rest = download.group("rest")
        if dep is not None:
            version = locked_version(chart, dep)
            if any(marker in rest for marker in _NETWORK):
                return _unreachable(dep.name, dep.repository, _reason(rest))
            if rest.rstrip().endswith("not found"):
                return _not_found(dep.name, version, dep.repository)
    for dep in chart.dependencies:
        # Helm reads the index it just failed to refresh: "open .../<name>-index.yaml: ..."
        if dep.scheme in ("http", "https") and repository_name(dep.repository) in line:
            repo = norm_url(dep.repository)
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
        if dep.scheme == "oci" and norm_url(url) == f"{norm_url(dep.repository)}/{dep.name}":
            return dep
    for dep in chart.dependencies:
        if dep.scheme in ("http", "https") and url.startswith(norm_url(dep.repository) + "/"):
            return dep
    return None


def _missing_from_index(chart: UmbrellaChart, unreachable: Mapping[str, str]) -> RenderError | None:
    """Which locked chart the refreshed repository index lacks ("no matching version")."""
    index_dir = helm_home() / "cache" / "repository"
    for dep in chart.dependencies:
        if dep.scheme not in ("http", "https"):
            continue
        repo = norm_url(dep.repository)
        version = locked_version(chart, dep)
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
        if norm_version(version) not in {norm_version(v) for v in versions}:
            return _not_found(dep.name, version, dep.repository)
    return None


_TEMPLATE_AT = re.compile(
    r"^(?P<chart>[^/\s]+)/(?P<path>\S+?):(?P<line>\d+)(?::\d+)?:?\s+(?P<rest>.*)$"
)


def template_error(chart: UmbrellaChart, run: ProgramRun) -> RenderError:
    """What a failed ``helm template`` means, starting with the template file and line."""
    message = _error_paragraph(run.err) or first_error_line(run.err or run.out)
    match = _TEMPLATE_AT.match(message)
    if match:
        return RenderError(
            f"{chart.where(match.group('path'))}:{match.group('line')}: {match.group('rest')}"
        )
    return RenderError(f"chart {chart.name}: helm template failed: {message}")


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

"""What one run builds and where it goes: ``gitward-ci.yaml`` resolved against the repository.

Paths are resolved inside the checkout (a Dockerfile or chart path that
leads out of it is refused), the image is named, and the stores come from
the file or the environment (``GITWARD_REGISTRY``, ``GITWARD_CHART_REPO``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gitward import repofiles, yamlload
from gitward.artifacts.references import Repository, parse_location
from gitward.ci.config import FILENAME, CiConfig, ImageValues, expand
from gitward.ci.errors import CiInputError
from gitward.errors import ConfigError


@dataclass(frozen=True)
class Targets:
    root: Path
    image_name: str
    dockerfile: Path
    context: Path
    build_args: tuple[tuple[str, str], ...]
    build_contexts: tuple[tuple[str, str], ...]  # name -> directory or docker-image://ref
    secrets: tuple[tuple[str, str], ...]  # id -> file, mounted only while a RUN step runs
    chart_dir: Path
    chart_label: str  # the chart path as the repository spells it, for messages
    chart_name: str  # as Chart.yaml names it ("" when there is no chart)
    image_values: ImageValues
    registry: Repository | None  # None: no registry known (a local build only)
    oci: Repository | None  # where charts go as OCI artifacts, None: not there
    chart_repository: str  # ChartMuseum-API repository URL (may hold credentials), "" none

    @property
    def image(self) -> Repository | None:
        return self.registry.child(self.image_name) if self.registry is not None else None

    def local_name(self, version: str) -> str:
        """The image's name in buildah's storage."""
        image = self.image
        return (
            image.tagged(version) if image is not None else f"localhost/{self.image_name}:{version}"
        )

    @property
    def stores(self) -> tuple[str, ...]:
        """Registry hosts the run talks to (for buildah's registries.conf)."""
        hosts = {r.host for r in (self.registry, self.oci) if r is not None}
        for _, value in self.build_args:
            first = value.split("/", 1)[0]
            if "/" in value and (":" in first or "." in first or first == "localhost"):
                hosts.add(first)
        return tuple(sorted(hosts))


def resolve(root: Path, config: CiConfig, *, extra_build_args: tuple[str, ...] = ()) -> Targets:
    real_root = repofiles.real(root)
    where = config.source_file or FILENAME

    def inside(rel: str, label: str) -> Path:
        return repofiles.resolve_inside(
            root / rel, root=real_root, subject=label, error=CiInputError
        )

    chart_dir = inside(config.chart_path, config.chart_path)
    chart_name = _chart_name(chart_dir, config.chart_path)
    name = config.image_name or (_dir_name(Path(chart_name)) if chart_name else "")
    name = name or _dir_name(real_root)
    registry_text = config.registry or os.environ.get("GITWARD_REGISTRY", "")
    registry = (
        parse_location(registry_text, subject=f"{where}: image.registry") if registry_text else None
    )
    if config.oci is None:
        oci = registry.child("charts") if registry is not None else None
    elif config.oci == "":
        oci = None
    else:
        oci = parse_location(config.oci, subject=f"{where}: publish.oci")
    chart_repository = (
        config.chart_repository
        if config.chart_repository is not None
        else os.environ.get("GITWARD_CHART_REPO", "")
    )
    args = dict(
        (key, expand(value, subject=f"{where}: image.buildArgs.{key}"))
        for key, value in config.build_args
    )
    for raw in extra_build_args:
        key, eq, value = raw.partition("=")
        if not eq or not key:
            raise ConfigError(f"--build-arg {raw!r}: expected NAME=VALUE")
        args[key] = value
    contexts = tuple(
        (key, expand(value, subject=f"{where}: image.buildContexts.{key}"))
        for key, value in config.build_contexts
    )
    secrets = tuple(
        (key, expand(value, subject=f"{where}: image.secrets.{key}"))
        for key, value in config.secrets
    )
    return Targets(
        root=real_root,
        image_name=name,
        dockerfile=inside(config.dockerfile, config.dockerfile),
        context=inside(config.context, config.context),
        build_args=tuple(sorted(args.items())),
        build_contexts=contexts,
        secrets=secrets,
        chart_dir=chart_dir,
        chart_label=config.chart_path,
        chart_name=chart_name,
        image_values=config.image_values,
        registry=registry,
        oci=oci,
        chart_repository=chart_repository,
    )


def _chart_name(chart_dir: Path, label: str) -> str:
    chart_yaml = chart_dir / "Chart.yaml"
    if not chart_yaml.is_file():
        return ""
    text = repofiles.read_text(
        chart_yaml,
        root=repofiles.real(chart_dir),
        subject=f"{label}/Chart.yaml",
        error=CiInputError,
    )
    loaded = yamlload.load_single(text, subject=f"{label}/Chart.yaml", error=CiInputError)
    doc = loaded.data if loaded is not None else None
    name = doc.get("name") if isinstance(doc, dict) else None
    return str(name) if name else ""


def _dir_name(path: Path) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.name.lower()).strip("-") or "app"

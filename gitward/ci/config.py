"""Reading ``gitward-ci.yaml``, with errors that name the line, and every default.

A code repository with a ``Dockerfile`` and a ``chart/`` directory needs no
file at all: the image is named after the chart, pushed to
``$GITWARD_REGISTRY``, and the chart goes to ``oci://<registry>/charts`` and,
when ``$GITWARD_CHART_REPO`` is set, to that ChartMuseum-API repository.

The file is read like any repository input (:mod:`gitward.repofiles`,
:mod:`gitward.yamlload`): inside the checkout, bounded, no duplicate keys.
Build-arg values may name environment variables (``${GITWARD_BASE_IMAGE}``,
``${NAME:-default}``), so one file serves a laptop and a CI agent.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from gitward import repofiles, yamlload
from gitward.ci import passed
from gitward.ci.schema import SCHEMA
from gitward.config.validating import load_checked
from gitward.errors import ConfigError

FILENAME = "gitward-ci.yaml"
_CHECKED = "ci-config"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class ImageValues:
    """Dotted paths in the chart's values where the image reference goes ("" = not set)."""

    repository: str = "image.repository"
    tag: str = "image.tag"
    digest: str = "image.digest"


@dataclass(frozen=True)
class Promotion:
    """Where ``gitward ci --promote`` opens the promotion pull request."""

    repo: str  # the config repository's clone URL (may name ${VARIABLES})
    base: str = "main"
    chart: str = ""  # "" = the chart just published
    image_tag: str = "image.tag"  # dotted path in the chart's values file; "" = not set


@dataclass(frozen=True)
class CiConfig:
    image_name: str = ""  # "" = the chart's name
    registry: str = ""  # "" = $GITWARD_REGISTRY
    dockerfile: str = "Dockerfile"
    context: str = "."
    build_args: tuple[tuple[str, str], ...] = ()
    build_contexts: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()  # id -> file, for RUN --mount=type=secret
    chart_path: str = "chart"
    image_values: ImageValues = ImageValues()
    oci: str | None = None  # None = oci://<registry>/charts; "" = do not publish there
    chart_repository: str | None = None  # None = $GITWARD_CHART_REPO; "" = do not publish
    promotion: Promotion | None = None  # None: no promotion section
    source_file: str = ""  # FILENAME when one was read


def load_ci_config(root: Path, *, filename: str = FILENAME) -> CiConfig:
    """``root/gitward-ci.yaml``, or every default when there is none."""
    path = root / filename
    if not path.exists() and not path.is_symlink():
        return CiConfig()
    text = repofiles.read_text(path, root=repofiles.real(root), subject=filename, error=ConfigError)
    return parse_ci_config(text, filename=filename)


def parse_ci_config(text: str, *, filename: str = FILENAME) -> CiConfig:
    # A file checked against this schema before needs no second check (loading the
    # validator costs a tenth of a run that finds everything published).
    key = passed.digest_of([json.dumps(SCHEMA, sort_keys=True).encode(), text.encode()])
    if passed.remembered(_CHECKED, key):
        loaded = yamlload.load_single(text, subject=filename, error=ConfigError)
        doc = loaded.data if loaded is not None else None
    else:
        _, doc = load_checked(text, filename=filename, schema=SCHEMA, name_extra_key=True)
        passed.remember(_CHECKED, key)
    doc = doc or {}
    image = doc.get("image", {})
    chart = doc.get("chart", {})
    publish = doc.get("publish", {})
    promotion = doc.get("promotion")
    values = chart.get("imageValues", {})
    defaults = ImageValues()
    return CiConfig(
        image_name=image.get("name", ""),
        registry=image.get("registry", ""),
        dockerfile=image.get("dockerfile", "Dockerfile"),
        context=image.get("context", "."),
        build_args=tuple(sorted((k, str(v)) for k, v in image.get("buildArgs", {}).items())),
        build_contexts=tuple(sorted(image.get("buildContexts", {}).items())),
        secrets=tuple(sorted(image.get("secrets", {}).items())),
        chart_path=chart.get("path", "chart").strip("/") or ".",
        image_values=ImageValues(
            repository=values.get("repository", defaults.repository),
            tag=values.get("tag", defaults.tag),
            digest=values.get("digest", defaults.digest),
        ),
        oci=publish.get("oci"),
        chart_repository=publish.get("chartRepository"),
        promotion=Promotion(
            repo=promotion["repo"],
            base=promotion.get("base", "main"),
            chart=promotion.get("chart", ""),
            image_tag=promotion.get("imageTag", "image.tag"),
        )
        if promotion
        else None,
        source_file=filename,
    )


def expand(value: str, *, subject: str) -> str:
    """``value`` with ``${NAME}`` / ``${NAME:-default}`` taken from the environment."""

    def one(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        found = os.environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        raise ConfigError(f"{subject}: ${{{name}}} is not set in the environment")

    return _VARIABLE.sub(one, value)

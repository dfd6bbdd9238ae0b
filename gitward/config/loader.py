"""Reading and validating ``gitward.yaml``, with errors that name the line.

It is read like every other file of the config repository: it must resolve
inside the checkout (:mod:`gitward.repofiles`), be at most 10 MiB, and parse
as bounded, strict YAML (:mod:`gitward.yamlload`: no alias bombs, no
duplicate keys).
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from gitward import repofiles
from gitward.config.apps import AppSpec, IgnoreRule, RepoConfig
from gitward.config.schema import SCHEMA
from gitward.config.validating import line_of, load_checked
from gitward.config.verify import VerifyMode
from gitward.errors import ConfigError

FILENAME = "gitward.yaml"


def load_repo_config(root: Path) -> RepoConfig:
    """Load ``root/gitward.yaml``; raise :class:`ConfigError` naming file and line."""
    path = root / FILENAME
    if not path.exists() and not path.is_symlink():
        raise ConfigError(f"{FILENAME}: not found at the root of the config repository")
    text = repofiles.read_text(path, root=repofiles.real(root), subject=FILENAME, error=ConfigError)
    return parse_repo_config(text, filename=FILENAME)


def parse_repo_config(text: str, *, filename: str = FILENAME) -> RepoConfig:
    node, doc = load_checked(text, filename=filename, schema=SCHEMA)
    environment = str(doc.get("environment", ""))
    apps = tuple(
        replace(_app(a), environment=str(a.get("environment", environment))) for a in doc["apps"]
    )
    _check_names_and_order(apps, node, filename)
    verify = VerifyMode(doc["verify"]) if "verify" in doc else None
    return RepoConfig(
        apps=_topological(apps),
        environment=environment,
        verify=verify,
        verify_line=(line_of(node, deque(["verify"])) or 0) if verify else 0,
    )


def _app(raw: dict[str, Any]) -> AppSpec:
    return AppSpec(
        name=raw["name"],
        path=raw["path"].strip("/"),
        namespace=raw.get("namespace", ""),
        create_namespace=raw.get("createNamespace", False),
        prune=raw.get("prune", True),
        allow_empty=raw.get("allowEmpty", False),
        auto_sync=raw.get("autoSync", False),
        self_heal=raw.get("selfHeal", False),
        depends_on=tuple(raw.get("dependsOn", ())),
        release_name=raw.get("releaseName", ""),
        values_files=tuple(raw.get("valuesFiles", ())),
        service_account_name=raw.get("serviceAccountName", ""),
        ignore=tuple(
            IgnoreRule(
                json_pointers=tuple(r["jsonPointers"]),
                group=r.get("group", ""),
                kind=r.get("kind", ""),
                name=r.get("name", ""),
                namespace=r.get("namespace", ""),
            )
            for r in raw.get("ignore", ())
        ),
    )


def _check_names_and_order(
    apps: tuple[AppSpec, ...], node: yaml.Node | None, filename: str
) -> None:
    names: set[str] = set()
    for i, app in enumerate(apps):
        if app.name in names:
            line = line_of(node, deque(["apps", i, "name"]))
            raise ConfigError(f"{filename}:{line}: app {app.name!r} is declared twice")
        names.add(app.name)
    for i, app in enumerate(apps):
        for dep in app.depends_on:
            if dep not in names:
                line = line_of(node, deque(["apps", i, "dependsOn"]))
                raise ConfigError(
                    f"{filename}:{line}: app {app.name!r} depends on unknown app {dep!r}"
                )


def _topological(apps: tuple[AppSpec, ...]) -> tuple[AppSpec, ...]:
    """Apps ordered so each comes after what it depends on; stable otherwise."""
    by_name = {a.name: a for a in apps}
    done: list[AppSpec] = []
    state: dict[str, int] = {}

    def visit(app: AppSpec, trail: list[str]) -> None:
        if state.get(app.name) == 2:
            return
        if state.get(app.name) == 1:
            cycle = " -> ".join([*trail[trail.index(app.name) :], app.name])
            raise ConfigError(f"{FILENAME}: dependsOn cycle: {cycle}")
        state[app.name] = 1
        for dep in app.depends_on:
            visit(by_name[dep], [*trail, app.name])
        state[app.name] = 2
        done.append(app)

    for app in apps:
        visit(app, [])
    return tuple(done)

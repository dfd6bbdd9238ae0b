"""Operator settings that bound what each app may do: the account it runs as, and a policy.

They live with whoever runs gitward (flags, environment, a policy file), never
in the config repository: a tenant who can edit ``gitward.yaml`` must not be
able to widen its own rights. ``--default-service-account`` makes every app
without a ``serviceAccountName`` run as that account in its own namespace, so
nothing deploys with gitward's own rights; a policy file says which namespaces
each app may deploy to and which cluster-scoped kinds it may create.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitward.config.validating import check_schema
from gitward.errors import ConfigError

# A ServiceAccount name as gitward accepts it: a DNS label (what `kubectl create sa` makes).
SERVICE_ACCOUNT_NAME = "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# The placeholder for an app's own namespace in a policy's namespace patterns.
APP_NAMESPACE = "$app"

_GLOB = {"type": "string", "minLength": 1}
_RULES: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "namespaces": {"type": "array", "items": _GLOB},
        "clusterResources": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["group", "kind"],
                "properties": {"group": {"type": "string"}, "kind": _GLOB},
            },
        },
    },
}

POLICY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gitward policy",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "default": _RULES,
        "apps": {
            "type": "object",
            "propertyNames": {"pattern": "^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"},
            "additionalProperties": _RULES,
        },
    },
}


@dataclass(frozen=True)
class ClusterResource:
    """A cluster-scoped kind an app may create; both are glob patterns (``""``: core group)."""

    group: str
    kind: str

    def matches(self, *, group: str, kind: str) -> bool:
        return fnmatch.fnmatchcase(group, self.group) and fnmatch.fnmatchcase(kind, self.kind)


@dataclass(frozen=True)
class Rules:
    """Where one app may deploy. Unset in the file: its own namespace only, nothing cluster-wide."""

    namespaces: tuple[str, ...] = (APP_NAMESPACE,)
    cluster_resources: tuple[ClusterResource, ...] = ()

    def allows_namespace(self, namespace: str, *, app_namespace: str) -> bool:
        for pattern in self.namespaces:
            if APP_NAMESPACE in pattern and not app_namespace:
                continue  # an app without a namespace has no "own" one
            if fnmatch.fnmatchcase(namespace, pattern.replace(APP_NAMESPACE, app_namespace)):
                return True
        return False

    def allows_cluster_resource(self, *, group: str, kind: str) -> bool:
        return any(r.matches(group=group, kind=kind) for r in self.cluster_resources)


@dataclass(frozen=True)
class Policy:
    """The operator's allow-list; ``source`` is the file it came from, named in every refusal."""

    source: str
    default: Rules = Rules()
    apps: dict[str, Rules] = field(default_factory=dict, hash=False)

    def rules_for(self, app: str) -> Rules:
        return self.apps.get(app, self.default)


@dataclass(frozen=True)
class Tenancy:
    """What the operator decided for every app: a default account and a policy (both optional)."""

    default_service_account: str = ""
    policy: Policy | None = None


def parse_policy(text: str, *, filename: str) -> Policy:
    """A policy document; raise :class:`ConfigError` naming ``filename`` and the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc: Any = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"{filename}{where}: {problem}") from e
    if doc is None:
        doc = {}  # an empty file: the locked-down default for every app
    check_schema(doc, node, schema=POLICY_SCHEMA, filename=filename)
    return Policy(
        source=filename,
        default=_rules(doc.get("default") or {}),
        apps={name: _rules(raw or {}) for name, raw in (doc.get("apps") or {}).items()},
    )


def _rules(raw: dict[str, Any]) -> Rules:
    defaults = Rules()
    return Rules(
        namespaces=tuple(raw.get("namespaces", defaults.namespaces)),
        cluster_resources=tuple(
            ClusterResource(group=r["group"], kind=r["kind"])
            for r in raw.get("clusterResources", ())
        ),
    )


def load_policy(path: str) -> Policy:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the policy file: {e}") from e
    return parse_policy(text, filename=path)


def load_tenancy(*, default_service_account: str | None, policy_file: str | None) -> Tenancy:
    """The settings from ``--default-service-account`` and ``--policy`` (or their env vars)."""
    account = (default_service_account or "").strip()
    if account and not re.fullmatch(SERVICE_ACCOUNT_NAME, account):
        raise ConfigError(
            f"--default-service-account {account!r}: not a ServiceAccount name "
            "(lower-case letters, digits and '-', at most 63)"
        )
    policy = load_policy(policy_file) if policy_file else None
    return Tenancy(default_service_account=account, policy=policy)

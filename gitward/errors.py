"""The root of gitward's exception tree.

Every error gitward raises on purpose derives from :class:`GitwardError`. Its
message is one line that starts with the subject (a file, an object, an app)
so the CLI can print it as-is. Layers subclass it and chain the cause::

    GitwardError
    ├── ConfigError        gitward.yaml and other user input        (gitward.config)
    ├── SourceError        git fetch / checkout / revision           (gitward.source)
    ├── RenderError        helm, kustomize, plain YAML               (gitward.render)
    ├── KubeError          API server answers and transport          (gitward.kube)
    │   ├── NotFound, Conflict, Invalid, Forbidden, Unauthorized
    │   └── Unavailable    transport failures; temporary
    ├── PlanError          validation of a whole change set          (gitward.plan)
    ├── RecordCorrupt      an inventory or history that does not decode (gitward.record)
    ├── ToolError          a missing or failed external binary       (gitward.tools)
    └── DevClusterError    the local control plane                   (gitward.dev)
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What the CLI exits with; results carry one so history can record it too."""

    OK = 0
    DIFF = 1  # diff: differences; status: OutOfSync or not Healthy
    INPUT = 2  # bad input, or a plan that failed validation: nothing applied
    CLUSTER = 3  # the cluster refused or failed a change, or could not be reached
    HEALTH = 4  # --wait: an object became Degraded or the timeout passed


class GitwardError(Exception):
    """A failure gitward expected and can explain in one line."""

    exit_code: int = ExitCode.INPUT


class ConfigError(GitwardError):
    """Invalid user configuration: names the file and, where known, the line."""


class SourceError(GitwardError):
    """A git repository or revision could not be fetched or resolved."""


class RenderError(GitwardError):
    """An app's manifests could not be rendered."""


class ToolError(GitwardError):
    """An external binary is missing or failed."""


class PlanError(GitwardError):
    """A change set failed validation; nothing was applied."""


class RecordCorrupt(GitwardError):
    """A record gitward keeps in the cluster does not decode; names its ConfigMap and the fix."""

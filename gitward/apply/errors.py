"""Why applying a plan stopped. Each message starts with the app or the object.

    ApplyFailed        some objects could not be applied or pruned
    ├── HookFailed     a hook failed, or did not finish in time
    └── WaveUnhealthy  a wave became Degraded, or was not Healthy in time

They are :class:`~gitward.kube.KubeError`s: the cluster refused or failed a
change, whatever the input was.
"""

from __future__ import annotations

from gitward.kube import KubeError
from gitward.objects import ObjectRef


class ApplyFailed(KubeError):
    """Some objects could not be applied; the change set says which."""


class HookFailed(ApplyFailed):
    pass


class WaveUnhealthy(ApplyFailed):
    def __init__(self, message: str, *, unhealthy: tuple[tuple[ObjectRef, str], ...] = ()) -> None:
        super().__init__(message)
        self.unhealthy = unhealthy  # each object not Healthy, and its status and reason

"""The only package that talks to the Kubernetes API server.

Everything above it passes plain object bodies in and gets bodies, typed
results or :class:`~gitward.kube.errors.KubeError` subclasses out; no HTTP
library's exceptions leak past this package.
"""

from gitward.kube._transport import RequestStats
from gitward.kube.client import Kube
from gitward.kube.discovery import Resource
from gitward.kube.errors import (
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    Unauthorized,
    Unavailable,
    without_subject,
)
from gitward.kube.kubeconfig import KubeConfig, load_kubeconfig

__all__ = [
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "Kube",
    "KubeConfig",
    "KubeError",
    "NotFound",
    "RequestStats",
    "Resource",
    "Unauthorized",
    "Unavailable",
    "load_kubeconfig",
    "without_subject",
]

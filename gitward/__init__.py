"""gitward: GitOps delivery for Kubernetes.

Data flows one way: source -> render -> plan -> apply -> prune -> health -> record -> heal.
Only :mod:`gitward.kube` talks to the API server and only :mod:`gitward.cli` prints.
"""

import sys

__version__ = "0.1.0"

# httpx imports its own command-line tool when ``rich`` is installed (a
# development environment has it), which pulls in rich and pygments: a
# noticeable share of a short ``gitward`` run. gitward never uses that tool;
# ``None`` here makes its import fail, which httpx expects and handles.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

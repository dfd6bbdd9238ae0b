"""gitward: GitOps delivery for Kubernetes.

Data flows one way: source -> render -> plan -> apply -> prune -> health -> record -> heal.
Only :mod:`gitward.kube` talks to the API server and only :mod:`gitward.cli` prints.
"""

__version__ = "0.1.0"

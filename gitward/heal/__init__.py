"""The controller: continuous reconcile from git, watch-based drift detection, self-heal."""

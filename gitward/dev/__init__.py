"""A local control plane and OCI registry for development, tests and the demo."""

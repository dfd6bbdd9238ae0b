"""The build side: a code repository becomes a versioned image and chart in artifact stores.

``gitward ci`` computes the version from git (:mod:`versioning`), builds the
image with buildah (:mod:`building`), pushes it, packages the chart with the
image's tag and digest (:mod:`packaging`), publishes the chart to an OCI
registry and a ChartMuseum-API repository (:mod:`publishing`), and writes a
build record (:mod:`records`). It holds push credentials for its stores and
nothing else: it never reads a kubeconfig nor talks to an API server.
"""

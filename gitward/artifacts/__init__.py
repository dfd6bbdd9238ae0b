"""Artifact stores: OCI registries and ChartMuseum-API chart repositories.

The build side (:mod:`gitward.ci`) writes images and charts here; nothing in
this room knows the Kubernetes API server, and nothing may: the build side
holds no credential the cluster accepts (see the import contracts).
"""

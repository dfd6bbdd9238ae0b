"""Config-repo app paths -> Kubernetes objects.

``render_app`` is the entry point: it detects how an app directory is
rendered (a Helm umbrella chart, a kustomization, or plain YAML/JSON files)
and returns a :class:`Rendered` of :class:`~gitward.objects.Manifest` s.
Failures raise :class:`~gitward.errors.RenderError` with a one-line message
that starts with the file (and line) or chart at fault.

Modules: ``rendering`` (dispatch), ``directory``, ``kustomize``, ``helm``
(one per kind; ``helm`` is a package, one module per step), ``documents``
(YAML stream -> objects), ``cache`` (``RenderCache`` for renders,
``ChartCache`` for built chart dependencies) and ``results`` (the result
types). helm and kubectl are started through :mod:`gitward.programs`. Every
file is read through :mod:`gitward.repofiles` (inside the checkout only) and
every YAML through :mod:`gitward.yamlload` (bounded, strict).
"""

from gitward.render.cache import RenderCache
from gitward.render.rendering import detect, render_app
from gitward.render.results import ChartDependency, Rendered

__all__ = ["ChartDependency", "RenderCache", "Rendered", "detect", "render_app"]

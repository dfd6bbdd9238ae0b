"""An umbrella chart in the config repository -> objects, through ``helm``.

The pattern (Stakater's "GitOps with Jenkins"): an app directory is a chart
whose only job is to pin other charts. Its dependencies live in
``requirements.yaml`` (chart ``apiVersion: v1``) or in ``Chart.yaml``
(``v2``), and next to them one values file per subchart, named after its
alias or name (``xposer.yaml``); its content configures that subchart. A
version bump is a one-line pull request to the dependency list plus its
lock.

How a render goes, and why:

1. Read the dependency list and the lock (``requirements.lock`` /
   ``Chart.lock``) ourselves and compare name, repository and exact version.
   Helm only says "the lock file is out of sync"; we say which chart and
   what to run. Helm's own digest check still runs afterwards and catches
   the rest (a changed range, condition or alias).
2. Copy the chart into a scratch directory, never building into the
   checkout. ``file://`` dependencies given as relative paths are copied to
   the same relative place, so ``file://../../charts/web`` still resolves;
   a ``file://`` path must stay inside the repository.
3. ``helm dependency build`` from the lock. Without a lock, ``helm
   dependency update`` resolves the ranges instead (the result can then
   change as repositories publish, so such renders are never cached).
   Built ``.tgz`` archives are kept in a chart cache keyed by everything the
   build reads (the lock, ``Chart.yaml``, ``requirements.yaml``, ``charts/``
   and the ``file://`` trees): an unchanged lock is never downloaded twice.
   Each remote archive is also kept on its own, by repository, name and
   version, so other umbrellas that pin it copy it in without running helm
   (when helm's lock digest holds; see ``lockdigest``). Like a vendored
   ``charts/`` directory, this trusts that a published chart version does
   not change; clear ``<cache>/helm/charts`` and ``<cache>/helm/archives``
   if one did.
4. ``helm template <release> <dir> --namespace <ns> --include-crds`` with,
   lowest precedence first: the chart's ``values.yaml`` (helm reads it),
   one generated ``{<alias or name>: <content of that file>}`` values file
   per subchart in dependency order, then the app's ``valuesFiles``. Hooks
   are kept; the plan layer orders them by their ``helm.sh/hook``
   annotations.

What we found about helm v4.3.1 (checked against its source and by running
it):

* ``requirements.yaml``/``requirements.lock`` still work for ``apiVersion:
  v1`` charts (deprecated: helm logs a warning and reads them into the
  chart's metadata); ``dependency update`` writes ``requirements.lock`` for
  them.
* ``helm dependency update`` accepts an ``https://``/``http://`` repository
  that was never added: it registers a temporary ``helm-manager-<sha>`` repo.
  ``helm dependency build`` does not: it fails with "no repository
  definition for <url>" unless ``repositories.yaml`` has an entry for that
  URL. So for every render we write a ``repositories.yaml`` holding exactly
  the chart's classic repositories, named ``gitward-<sha256(url)[:16]>``,
  and point ``HELM_REPOSITORY_CONFIG`` at it; their indexes are cached
  under ``HELM_CACHE_HOME``. (Build refreshes every repository in that
  file, which is why it holds only this chart's.)
* OCI registries are always spoken to over TLS, loopback included; there is
  no environment variable or registry-config setting for plain HTTP. The
  only switch is ``--plain-http`` on ``dependency build``/``update``, and it
  applies to every OCI dependency of the command. We pass it when every OCI
  dependency is on a loopback host (``localhost``, ``127.0.0.0/8``,
  ``::1``), the same hosts Docker treats as insecure registries by default,
  and refuse a chart that mixes loopback and remote OCI registries.
* Helm's content cache (``HELM_CONTENT_CACHE``) does not help
  ``dependency build``: charts from classic repositories are fetched by URL
  without a digest, and downloads are never written back to it. Hence our
  own chart cache above.
* ``helm template`` errors span several lines (``Error: <chart>/templates/
  x.yaml:1:13`` then the cause, indented); we join them into one.

One module per step: ``charts`` (the chart model, reading it, the lock
check), ``paths`` (what the render reads from the checkout, and the scratch
copy), ``binary`` (which helm, its environment, running it),
``dependencies`` (dependency build, cached in
:class:`gitward.render.cache.ChartCache` and, chart by chart,
:class:`gitward.render.cache.ArchiveCache`), ``lockdigest`` (helm's lock
digest, recomputed), ``diagnostics`` (helm's error
text to one line), ``output`` (template output to objects, and the charts
built) and ``templating`` (one render, start to end).
"""

from gitward.render.helm.binary import (
    DEFAULT_TIMEOUT,
    helm_env,
    helm_home,
    helm_identity,
    plain_http,
    repositories_yaml,
    repository_name,
)
from gitward.render.helm.charts import (
    Dependency,
    LockEntry,
    UmbrellaChart,
    check_lock,
    read_chart,
)
from gitward.render.helm.output import parse_template_output
from gitward.render.helm.paths import local_chart_dirs, values_file_paths
from gitward.render.helm.templating import HelmRender, render_helm

__all__ = [
    "DEFAULT_TIMEOUT",
    "Dependency",
    "HelmRender",
    "LockEntry",
    "UmbrellaChart",
    "check_lock",
    "helm_env",
    "helm_home",
    "helm_identity",
    "local_chart_dirs",
    "parse_template_output",
    "plain_http",
    "read_chart",
    "render_helm",
    "repositories_yaml",
    "repository_name",
    "values_file_paths",
]

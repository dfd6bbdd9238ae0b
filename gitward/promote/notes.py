"""A promotion pull request's title and body.

The body says what a reviewer needs before merging: each app's old and new
version (and image tag), the code commits between the two chart versions,
and what merging would change in the live cluster (a server-side dry-run).

Code commits are read from the annotations the build side (``gitward ci``)
writes into each chart it publishes (``Chart.yaml`` ``annotations``); the
first key present wins:

* commit: ``gitward.io/commit``, else ``org.opencontainers.image.revision``
* source (the code repository's URL): ``gitward.io/source``, else
  ``org.opencontainers.image.source``
* commits: ``gitward.io/commits``, one ``<sha> <subject>`` per line, newest first

With both revisions and a source the body links the comparison; with the
commits annotation it lists them, down to the old version's revision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gitward.promote.bumping import Bump
from gitward.review.markdown import AppPreview, previews_markdown

REVISION_KEYS = ("gitward.io/commit", "org.opencontainers.image.revision")
SOURCE_KEYS = ("gitward.io/source", "org.opencontainers.image.source")
COMMITS_KEY = "gitward.io/commits"
MAX_COMMITS = 50


def marker(chart: str, environments: Sequence[str]) -> str:
    envs = ",".join(environments) or "-"
    return f"<!-- gitward:promotion chart={chart} environments={envs} -->"


def title(chart: str, version: str, environments: Sequence[str]) -> str:
    where = f" in {', '.join(environments)}" if environments else ""
    return f"Promote {chart} to {version}{where}"


def body(
    *,
    chart: str,
    version: str,
    environments: Sequence[str],
    bumps: Sequence[Bump],
    previews: Sequence[AppPreview] | None,
    by: str = "gitward promote",
) -> str:
    """The pull request's body; ``previews`` is ``None`` when no dry-run was made (the
    build side has no cluster), and the body then points at the controller's preview."""
    lines = [marker(chart, environments), f"## Promote `{chart}` to `{version}`", ""]
    lines += ["| app | environment | file | from | to | image |", *["| --- " * 6 + "|"]]
    for b in bumps:
        image = f"`{b.old_image or '-'}` → `{b.new_image}`" if b.new_image else "-"
        lines.append(
            f"| `{b.app}` | {b.environment or '-'} | `{b.file}` | `{b.old}` | `{b.new}` | {image} |"
        )
    moved = [b for b in bumps if b.annotations]
    new_annotations = dict(moved[0].annotations) if moved else {}
    old_annotations = dict(moved[0].old_annotations) if moved else {}
    lines += ["", "### Code changes", "", *code_changes(old_annotations, new_annotations)]
    lines += ["", "### What merging changes in the cluster", ""]
    if previews is None:
        lines.append(
            f"`{by}` runs without a cluster, so it made no dry-run: the controller's "
            "preview comment on this pull request carries the plan (each app's objects "
            "to create, change and prune, and their diff), and its `gitward/preview` "
            "status says whether it applies."
        )
    else:
        lines += [
            "A server-side dry-run of each app against the live cluster:",
            "",
            previews_markdown(previews),
        ]
    lines += ["", f"Opened by `{by}`; running it again updates this pull request."]
    return "\n".join(lines)


def _first(annotations: Mapping[str, str], keys: Sequence[str]) -> str:
    return next((annotations[k].strip() for k in keys if annotations.get(k, "").strip()), "")


def code_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Markdown lines: the code commits between two chart versions, as far as they say."""
    new_rev, old_rev = _first(new, REVISION_KEYS), _first(old, REVISION_KEYS)
    source = _first(new, SOURCE_KEYS) or _first(old, SOURCE_KEYS)
    if not new_rev:
        return [
            "The new chart version does not say which code commit it was built from "
            f"(no {' or '.join(REVISION_KEYS)} annotation)."
        ]
    lines: list[str] = []
    if old_rev and old_rev != new_rev:
        span = f"`{old_rev[:12]}`..`{new_rev[:12]}`"
        if source.startswith(("https://", "http://")):
            compare = f"{source.removesuffix('.git').rstrip('/')}/compare/{old_rev}...{new_rev}"
            span = f"[{span}]({compare})"
        lines.append(f"Built from {span}" + (f" of {source}" if source else "") + ".")
    else:
        lines.append(f"Built from `{new_rev[:12]}`" + (f" of {source}" if source else "") + ".")
    commits = [c for c in new.get(COMMITS_KEY, "").splitlines() if c.strip()]
    listed: list[str] = []
    for line in commits:
        sha = line.split(maxsplit=1)[0]
        if old_rev and (old_rev.startswith(sha) or sha.startswith(old_rev)):
            break
        listed.append(line.strip())
    if listed:
        lines.append("")
        lines += [
            f"- `{c.split(maxsplit=1)[0][:12]}` {c.partition(' ')[2]}" for c in listed[:MAX_COMMITS]
        ]
        if len(listed) > MAX_COMMITS:
            lines.append(f"- … and {len(listed) - MAX_COMMITS} more")
    return lines

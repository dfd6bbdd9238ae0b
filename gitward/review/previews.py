"""What a pull request preview says: one comment and one ``gitward/preview`` status.

A preview is the plan before apply: the pull request's head rendered and
dry-run against the live cluster, per app it touches. This module turns the
per-app results into the comment (edited in place on every later push, see
:func:`gitward.forge.put_comment`) and the status a branch rule can require.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitward.forge import CommitState, CommitStatus, short_description
from gitward.review.markdown import AppPreview, previews_markdown

CONTEXT = "gitward/preview"
PURPOSE = "preview"


def _status(state: CommitState, description: str, target_url: str) -> CommitStatus:
    return CommitStatus(
        context=CONTEXT, state=state, description=description, target_url=target_url
    )


def pending(count: int, target_url: str = "") -> CommitStatus:
    return _status(CommitState.PENDING, f"planning {count} app(s) against the cluster", target_url)


def no_app_affected(target_url: str = "") -> CommitStatus:
    return _status(CommitState.SUCCESS, "no app affected", target_url)


def outcome(previews: Sequence[AppPreview], target_url: str = "") -> CommitStatus:
    """success with the counts, or failure with the first error in one line."""
    failed = next((p for p in previews if p.failed), None)
    if failed is not None:
        return _status(CommitState.FAILURE, short_description(failed.first_error), target_url)
    changing = sum(1 for p in previews if p.plan is not None and p.plan.changes)
    return _status(
        CommitState.SUCCESS,
        f"{len(previews)} app(s) planned, {changing} would change",
        target_url,
    )


def comment(*, head_sha: str, previews: Sequence[AppPreview]) -> str:
    """The preview comment for ``head_sha``."""
    if not previews:
        return f"### gitward preview of `{head_sha[:12]}`\n\nNo app affected by this pull request."
    return "\n".join(
        [
            f"### gitward preview of `{head_sha[:12]}`",
            "",
            "What merging would change in the live cluster (a server-side dry-run; "
            "Secret values masked). Updated on every push.",
            "",
            previews_markdown(previews),
        ]
    )

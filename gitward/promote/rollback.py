"""``gitward rollback``: a pull request that puts one app's files back as a recorded sync had them.

A rollback is a change to git like any other, so it works with ``autoSync``
and ``selfHeal`` on: merging it is the rollback, and the controller deploys
it as it deploys anything merged. There is no fight between a rollback and
the controller, because nothing is changed behind git's back.

What changes is only the app's own files: its path (chart, lock, values
files, manifests) and its ``valuesFiles``, from the commit the cluster runs
now (the newest successful sync) back to the commit of the sync chosen
(``--to`` a recorded revision, or ``--steps N`` syncs of another revision
back). The change is applied three-way on top of the current base branch, so
other apps' changes, and the app's own changes made since, stay unless they
touch the same lines; then the rollback stops naming the files (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum

from gitward.config.apps import AppSpec
from gitward.config.loader import load_repo_config
from gitward.forge import Forge, PullRequest
from gitward.promote.branches import fetch_both, open_or_update, push_once
from gitward.promote.cluster import SyncHistory
from gitward.promote.errors import PromoteInputError
from gitward.promote.gitwork import Clone, Identity
from gitward.promote.proposing import PROMOTER
from gitward.record.history import SyncOutcome, SyncRecord
from gitward.source.urls import source_identity


class RollbackOutcome(StrEnum):
    OPENED = "opened"
    UPDATED = "updated"
    UP_TO_DATE = "up-to-date"
    NOTHING = "nothing"  # the base branch already has the app's files as they were then


@dataclass(frozen=True)
class RollbackRequest:
    app: str
    to: str = ""  # a recorded revision (a prefix of its SHA)
    steps: int = 1
    base: str = "main"
    author: Identity = PROMOTER


@dataclass(frozen=True)
class Rollback:
    outcome: RollbackOutcome
    app: str
    current: SyncRecord
    target: SyncRecord
    branch: str
    files: tuple[str, ...] = ()
    pull: PullRequest | None = None

    @property
    def message(self) -> str:
        to = f"{self.target.revision[:12]} (synced {self.target.started_at})"
        if self.outcome is RollbackOutcome.NOTHING:
            return (
                f"{self.app}: its files on the base branch are already as they were at {to}; "
                "nothing to roll back"
            )
        assert self.pull is not None
        return f"{self.outcome.value} #{self.pull.number}: {self.pull.title} {self.pull.url}"


def branch_name(app: str) -> str:
    return f"gitward/rollback/{app}"


def app_paths(app: AppSpec) -> tuple[str, ...]:
    """The files an app is made of: its directory and its values files (wherever they are)."""
    paths = [app.path]
    for name in app.values_files:
        path = os.path.normpath(os.path.join(app.path, name))
        if path != app.path and not path.startswith(app.path.rstrip("/") + "/"):
            paths.append(path)
    return tuple(paths)


def choose(
    records: list[SyncRecord], *, app: str, to: str, steps: int
) -> tuple[SyncRecord, SyncRecord]:
    """``(current, target)``: the sync running now and the one to return to."""
    done = [
        r
        for r in records
        if r.result is SyncOutcome.SUCCEEDED and r.revision and not r.revision.endswith("-dirty")
    ]
    if not done:
        raise PromoteInputError(f"app {app}: no successful sync of a commit is recorded")
    current = done[0]
    if to:
        target = next((r for r in done if r.revision.startswith(to)), None)
        if target is None:
            listed = ", ".join(dict.fromkeys(r.revision[:12] for r in done))
            raise PromoteInputError(
                f"app {app}: no successful sync of revision {to} is recorded (recorded: {listed})"
            )
        return current, target
    if steps < 1:
        raise PromoteInputError(f"--steps {steps}: must be 1 or more")
    revisions = list(dict.fromkeys(r.revision for r in done))
    if len(revisions) <= steps:
        raise PromoteInputError(
            f"app {app}: only {len(revisions) - 1} earlier revision(s) recorded, "
            f"cannot go back {steps}"
        )
    target = next(r for r in done if r.revision == revisions[steps])
    return current, target


async def rollback(
    *, clone: Clone, forge: Forge, cluster: SyncHistory, request: RollbackRequest
) -> Rollback:
    branch = branch_name(request.app)
    for attempt in (1, 2):
        base_sha, remote = fetch_both(clone, base=request.base, branch=branch)
        with clone.worktree(base_sha) as tree:
            config = load_repo_config(tree).from_source(source_identity(clone.origin))
            app = config.app(request.app)
            if app is None:
                raise PromoteInputError(f"gitward.yaml: no app named {request.app!r}")
            records = await cluster.history(app)
            current, target = choose(records, app=app.name, to=request.to, steps=request.steps)
            for recorded in (current.revision, target.revision):
                clone.fetch_commit(recorded)
            paths = app_paths(app)
            conflicts = clone.apply_three_way(
                tree, old=current.revision, new=target.revision, paths=paths
            )
            if conflicts:
                raise PromoteInputError(
                    f"app {app.name}: rolling back to {target.revision[:12]} conflicts with "
                    f"changes made on {request.base} since: {', '.join(conflicts)}; "
                    "nothing was pushed"
                )
            title = f"Roll back {app.name} to {target.revision[:12]}"
            message = (
                f"{title}\n\nRestores {', '.join(paths)} as synced at {target.started_at}.\n\n"
                f"Gitward-Rollback-App: {app.name}\nGitward-Rollback-To: {target.revision}\n"
            )
            sha = clone.commit(tree, message=message, author=request.author)
            if sha is None:
                return Rollback(RollbackOutcome.NOTHING, app.name, current, target, branch)
            files = clone.changed_files(tree)
            # Ask the forge first: unreachable, or a token it refuses, and nothing is pushed.
            pull = await forge.find_pull(head=branch, base=request.base)
            doing = "rolling back"
            if not push_once(clone, tree, sha, branch, remote, attempt=attempt, doing=doing):
                continue
        body = _body(app.name, current, target, files)
        done, pull = await open_or_update(
            forge, pull, branch=branch, base=request.base, title=title, body=body
        )
        return Rollback(RollbackOutcome(done), app.name, current, target, branch, files, pull)
    raise AssertionError("unreachable")


def _body(app: str, current: SyncRecord, target: SyncRecord, files: tuple[str, ...]) -> str:
    def described(r: SyncRecord) -> str:
        charts = f", charts {', '.join(r.charts)}" if r.charts else ""
        return f"`{r.revision[:12]}` ({r.subject or 'no subject'}; synced {r.started_at}{charts})"

    lines = [
        f"<!-- gitward:rollback app={app} to={target.revision} -->",
        f"## Roll back `{app}` to {target.revision[:12]}",
        "",
        f"- returns to the sync of {described(target)}",
        f"- from what runs now: {described(current)}",
        "",
        "Files restored (other apps' files are left as they are):",
        "",
        *[f"- `{f}`" for f in files],
        "",
        "Merging this pull request is the rollback: the controller deploys it like any "
        "other merge, with autoSync and selfHeal on.",
        "",
        f"Gitward-Rollback-To: {target.revision}",
    ]
    return "\n".join(lines)

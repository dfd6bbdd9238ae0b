"""Plans as Markdown for a pull request: a line per app, each object's diff collapsed.

Both a promotion's body and a preview comment show what merging would change
in the cluster. The diff text is the plan's own, in which Secret values are
already masked. Forges cap a body's size (GitHub at 65,536 characters), so
each diff is cut to a number of lines and the whole to a number of
characters, saying so where it is cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gitward.plan.model import Action, Plan

MAX_DIFF_LINES = 150
MAX_CHARS = 60_000


@dataclass(frozen=True)
class AppPreview:
    """One app's dry-run: its plan, or the error that stopped it (as ``gitward diff`` says)."""

    app: str
    plan: Plan | None = None
    error: str = ""

    @property
    def failed(self) -> bool:
        return bool(self.error) or (self.plan is not None and bool(self.plan.errors))

    @property
    def first_error(self) -> str:
        if self.error:
            return self.error
        if self.plan is not None and self.plan.errors:
            more = len(self.plan.errors) - 1
            tail = f" (and {more} more)" if more else ""
            return f"app {self.app}: {self.plan.errors[0]}{tail}"
        return ""

    def summary(self) -> str:
        """``1 to create, 2 to change, 0 to prune`` (or the error)."""
        if self.failed:
            return f"error: {self.first_error}"
        assert self.plan is not None
        create = len(self.plan.of(Action.CREATE))
        change = len(self.plan.of(Action.UPDATE)) + len(self.plan.of(Action.RECREATE))
        prune = len(self.plan.of(Action.PRUNE))
        if not (create or change or prune):
            return f"no change ({len(self.plan.objects)} objects)"
        return f"{create} to create, {change} to change, {prune} to prune"


def previews_markdown(previews: Sequence[AppPreview]) -> str:
    """A per-app summary table, then each app's changed objects with collapsed diffs."""
    lines = ["| app | plan |", "| --- | --- |"]
    lines += [f"| `{p.app}` | {_cell(p.summary())} |" for p in previews]
    for p in previews:
        if p.failed:
            lines += ["", f"**{p.app}** cannot be applied:", "", "```", *_errors(p), "```"]
            continue
        assert p.plan is not None
        if not p.plan.changes:
            continue
        lines += ["", f"**{p.app}**", ""]
        for o in p.plan.changes:
            reason = f" ({o.reason})" if o.reason else ""
            lines.append(f"<details><summary>{o.action.value} {o.ref}{_html(reason)}</summary>")
            lines.append("")
            if o.diff:
                lines += ["```diff", *_cut(o.diff.splitlines()), "```"]
            lines += ["", "</details>"]
    return _limit("\n".join(lines))


def _errors(p: AppPreview) -> list[str]:
    if p.error:
        return [p.error]
    assert p.plan is not None
    return [str(e) for e in p.plan.errors]


def _cut(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_DIFF_LINES:
        return lines
    return [*lines[:MAX_DIFF_LINES], f"... {len(lines) - MAX_DIFF_LINES} more lines"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _limit(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    cut = text[:MAX_CHARS].rsplit("\n", 1)[0]
    # Close an open code block and details so the rest of the page renders.
    if cut.count("```") % 2:
        cut += "\n```"
    if cut.count("<details>") > cut.count("</details>"):
        cut += "\n</details>"
    return cut + "\n\n(cut here: the full plan is `gitward diff` on this branch)"

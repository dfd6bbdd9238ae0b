"""``gitward ci --promote ENV``: the promotion pull request for the chart just published.

The build side opens it as the promoter, exactly as ``gitward promote CHART
VERSION --env ENV --image VERSION`` would from a clone of the config
repository, with two differences that follow from the trust zones:

* it holds no cluster credential, so no dry-run is made: the pull request
  says that the controller's preview comment carries the plan;
* it has no clone of the config repository: it fetches the base branch (and
  the promotion branch, if pushed before) into a scratch repository.

It needs the promoter's token and nothing more. Without one, the publish has
happened and no pull request is opened: the error says both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from gitward.ci.config import FILENAME, Promotion, expand, load_ci_config
from gitward.ci.records import BuildRecord, PromotionRecord, Step
from gitward.errors import ConfigError, GitwardError
from gitward.forge import Forge, forge_of, open_forge, repo_of
from gitward.promote.gitwork import Clone
from gitward.promote.proposing import Promotion as Proposed
from gitward.promote.proposing import PromotionRequest, branch_name, propose_all
from gitward.source.credentials import GitCredentials

TOKEN_VARIABLE = "GITWARD_FORGE_TOKEN_PROMOTER"


@dataclass(frozen=True)
class PromoterAccess:
    """The promoter's token and which forge to speak to; ``""`` = from the repo's URL."""

    token: str = field(default="", repr=False)
    username: str = "gitward"  # basic-auth user for git over HTTP
    kind: str = ""
    url: str = ""
    allow_insecure: bool = False


ForgeFor = Callable[[str, "PromoterAccess"], Forge]
"""The forge of the config repository (its URL), spoken to with the promoter's token."""


class PromotionFailed(GitwardError):
    """The chart is published, but its promotion pull request could not be opened."""

    def __init__(self, message: str, *, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def promotion_for(root: Path, environments: tuple[str, ...]) -> Promotion:
    """The ``promotion:`` section ``--promote`` needs, checked before anything is built."""
    config = load_ci_config(root)
    if config.promotion is None:
        where = config.source_file or f"{FILENAME} (there is none)"
        raise ConfigError(
            f"{where}: --promote {' '.join(environments)} needs a promotion section "
            "naming the config repository (promotion: {repo: URL})"
        )
    subject = f"{config.source_file}: promotion"
    return replace(config.promotion, repo=expand(config.promotion.repo, subject=subject + ".repo"))


def promote_build(
    *,
    record: BuildRecord,
    promotion: Promotion,
    environments: tuple[str, ...],
    split: bool,
    access: PromoterAccess,
    progress: Callable[[Step], None],
    forge_for: ForgeFor | None = None,
) -> BuildRecord:
    """Open or update the promotion pull request(s) of ``record``'s chart; the record with
    them (and their steps) added. Any failure says that the chart is published."""
    if record.chart is None:
        raise ConfigError("--promote: this run published no chart, so there is none to promote")
    chart = promotion.chart or record.chart.name
    version = record.chart.version
    published = f"{chart} {version} is published, no promotion pull request was opened"
    if not access.token:
        raise PromotionFailed(
            f"--promote {' '.join(environments)}: no promoter token (set {TOKEN_VARIABLE}); "
            f"{published}",
            exit_code=ConfigError.exit_code,
        )
    request = PromotionRequest(
        chart=chart,
        version=version,
        environments=environments,
        image=record.version if promotion.image_tag else None,
        image_key=promotion.image_tag or "image.tag",
        split=split,
        base=promotion.base,
        by=f"gitward ci --promote {' --promote '.join(environments)}",
    )
    started = time.monotonic()
    try:
        done = asyncio.run(_propose(promotion.repo, access, request, forge_for or _forge_for))
    except GitwardError as e:
        raise PromotionFailed(f"{e}; {published}", exit_code=e.exit_code) from e
    seconds = time.monotonic() - started
    steps = []
    for p in done:
        name = "promote" if len(done) == 1 else f"promote:{'+'.join(p.environments)}"
        step = Step(
            name=name,
            seconds=seconds / len(done),
            detail=_detail(p),
            changed=p.outcome.value in ("opened", "updated"),
        )
        progress(step)
        steps.append(step)
    return replace(
        record,
        steps=record.steps + tuple(steps),
        total=record.total + seconds,  # the promotion starts once the publish is done
        promotions=tuple(_record(p) for p in done),
    )


def _forge_for(repo_url: str, access: PromoterAccess) -> Forge:
    kind, url = forge_of(repo_url, kind=access.kind, url=access.url)
    return open_forge(kind=kind, url=url, repo=repo_of(repo_url, forge_url=url), token=access.token)


async def _propose(
    repo_url: str, access: PromoterAccess, request: PromotionRequest, forge_for: ForgeFor
) -> tuple[Proposed, ...]:
    credentials = GitCredentials(
        token=access.token, username=access.username, allow_insecure=access.allow_insecure
    )
    forge = forge_for(repo_url, access)
    try:
        # The forge first, before any git: one that is down is exit 3 naming it, and a
        # token it refuses names the permission, as `gitward promote` says them.
        envs = request.environments[:1] if request.split else request.environments
        await forge.find_pull(head=branch_name(request.chart, envs), base=request.base)
        with Clone.scratch(repo_url, credentials=credentials) as clone:
            return await propose_all(clone=clone, forge=forge, dry_run=None, request=request)
    finally:
        await forge.aclose()


def _detail(p: Proposed) -> str:
    if p.pull is None:
        return p.message
    return f"{p.outcome.value} #{p.pull.number} ({p.chart} {p.version}): {p.pull.url}"


def _record(p: Proposed) -> PromotionRecord:
    return PromotionRecord(
        environments=p.environments,
        chart=p.chart,
        version=p.version,
        outcome=p.outcome.value,
        branch=p.branch,
        number=p.pull.number if p.pull else None,
        url=p.pull.url if p.pull else "",
    )

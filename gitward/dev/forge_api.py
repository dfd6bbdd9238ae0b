"""Gitea's REST API, for setting up the dev forge: its users, org, teams and repos.

Everything here acts as the forge's admin (a token with every scope), except
creating tokens, which Gitea allows over basic auth only. The identities are
the two trust zones of the design: the build side (``builder``) may write
packages and nothing else, the deploy side (``deployer``) may only read, the
``promoter`` may push branches and open pull requests, and only a person
(``reviewer``) may merge into a protected ``main``. The controller's forge
writes (commit statuses, preview comments) go as the ``reporter``: Gitea
wants write access to a repo's code for a commit status, so it has that and
read access to pull requests, with a token that can do nothing but write
repositories and issues; a protected repo's branch rules keep it from
pushing any branch or merging.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import httpx

from gitward.errors import ExitCode, GitwardError

ORG = "gitward"


class ForgeError(GitwardError):
    """The dev forge failed to start, or refused a setup request."""

    exit_code = ExitCode.CLUSTER


@dataclass(frozen=True)
class Identity:
    """A forge user and its API token (which also serves as its password for git and OCI)."""

    user: str
    token: str = field(repr=False)
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Role:
    """One identity's team in the org and its token's scopes."""

    user: str
    team: str
    units: Mapping[str, str]
    scopes: tuple[str, ...]


# Units a team grants on the org's repos it is given; a token's scopes then
# narrow what the user may do through that token.
ROLES = (
    Role(
        user="builder",
        team="builders",
        units={"repo.packages": "write", "repo.code": "read"},
        scopes=("write:package",),
    ),
    Role(
        user="deployer",
        team="deployers",
        units={"repo.code": "read", "repo.pulls": "read", "repo.packages": "read"},
        scopes=("read:package", "read:repository"),
    ),
    Role(
        user="promoter",
        team="promoters",
        units={"repo.code": "write", "repo.pulls": "write", "repo.packages": "read"},
        scopes=("write:repository", "read:package"),
    ),
    Role(
        user="reviewer",
        team="reviewers",
        units={
            "repo.code": "write",
            "repo.pulls": "write",
            "repo.issues": "write",
            "repo.packages": "read",
        },
        scopes=("write:repository", "write:issue", "read:package"),
    ),
    Role(
        user="reporter",
        team="reporters",
        # Code write is what Gitea checks before a commit status; reading pull
        # requests lets it comment on them. No issues, packages or merge rights.
        units={"repo.code": "write", "repo.pulls": "read"},
        scopes=("write:repository", "write:issue"),
    ),
)


class RepoKind(Enum):
    """Which teams a new repo is shared with.

    A config repo is read by the deploy side and changed through pull
    requests; a code repo is read by the build side only: the deploy side
    cannot read it.
    """

    CONFIG = "config"
    CODE = "code"


#: Who may push branches other than ``main`` on a protected repo.
_BRANCH_PUSHERS = ("promoters", "reviewers")

_REPO_TEAMS = {
    RepoKind.CONFIG: ("deployers", "promoters", "reviewers", "reporters"),
    RepoKind.CODE: ("builders", "reviewers"),
}


class ForgeAPI:
    """A few calls of Gitea's API v1, as one user; errors name the request."""

    def __init__(self, url: str, *, token: str = "", basic: tuple[str, str] | None = None) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"token {token}"
        self._client = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1", headers=headers, auth=basic, timeout=30
        )

    def __enter__(self) -> ForgeAPI:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def call(
        self, method: str, path: str, body: object = None, *, ok: Sequence[int] = (200, 201, 204)
    ) -> Any:
        try:
            response = self._client.request(method, path, json=body)
        except httpx.HTTPError as e:
            raise ForgeError(f"forge: {method} {path}: {e}") from e
        if response.status_code not in ok:
            raise ForgeError(
                f"forge: {method} {path}: HTTP {response.status_code}: {_message(response)}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text


def _message(response: httpx.Response) -> str:
    try:
        doc = response.json()
    except ValueError:
        return response.text.strip().splitlines()[0] if response.text.strip() else "no body"
    if isinstance(doc, dict) and doc.get("message"):
        return str(doc["message"])
    return str(doc)[:200]


def provision(url: str, admin: str, password: str, admin_token: str) -> dict[str, Identity]:
    """Create the org, its teams, and each role's user and token; returns them by user."""
    out: dict[str, Identity] = {}
    with ForgeAPI(url, token=admin_token) as api:
        api.call(
            "POST",
            "/orgs",
            {"username": ORG, "visibility": "private", "repo_admin_change_team_access": False},
        )
        for role in ROLES:
            api.call(
                "POST",
                "/admin/users",
                {
                    "username": role.user,
                    "email": f"{role.user}@gitward.invalid",
                    # Nobody logs in with it: the token is the credential.
                    "password": secrets.token_urlsafe(24),
                    "must_change_password": False,
                },
            )
            team = api.call(
                "POST",
                f"/orgs/{ORG}/teams",
                {
                    "name": role.team,
                    "permission": "read",
                    "units_map": dict(role.units),
                    "includes_all_repositories": False,
                    "can_create_org_repo": False,
                },
            )
            api.call("PUT", f"/teams/{team['id']}/members/{role.user}")
    # Gitea creates tokens over basic auth only; the admin may create them for anyone.
    with ForgeAPI(url, basic=(admin, password)) as api:
        for role in ROLES:
            made = api.call(
                "POST",
                f"/users/{role.user}/tokens",
                {"name": "gitward-dev", "scopes": list(role.scopes)},
            )
            out[role.user] = Identity(user=role.user, token=made["sha1"], scopes=role.scopes)
    return out


def create_repo(
    url: str,
    admin_token: str,
    name: str,
    *,
    kind: RepoKind = RepoKind.CONFIG,
    files: Mapping[str, str] | None = None,
    protect: bool = False,
    required_approvals: int = 0,
) -> dict[str, Any]:
    """A private repo of the org with a ``main`` branch, shared with ``kind``'s teams.

    ``files`` (path to text) are committed on ``main`` before it is protected;
    without them ``main`` holds a README.
    Returns Gitea's repository document (``clone_url``, ``html_url``, ...).
    """
    with ForgeAPI(url, token=admin_token) as api:
        repo: dict[str, Any] = api.call(
            "POST",
            f"/orgs/{ORG}/repos",
            # With files, their commit is the first one on main.
            {"name": name, "private": True, "auto_init": not files, "default_branch": "main"},
        )
        teams = {t["name"]: t["id"] for t in api.call("GET", f"/orgs/{ORG}/teams")}
        for team in _REPO_TEAMS[kind]:
            api.call("PUT", f"/teams/{teams[team]}/repos/{ORG}/{name}")
        if files:
            api.call(
                "POST",
                f"/repos/{ORG}/{name}/contents",
                {
                    "branch": "main",
                    "message": "Initial files",
                    "files": [
                        {
                            "operation": "create",
                            "path": path,
                            "content": base64.b64encode(text.encode()).decode(),
                        }
                        for path, text in files.items()
                    ],
                },
            )
    if protect:
        protect_main(url, admin_token, name, required_approvals=required_approvals)
    return repo


def protect_main(
    url: str, admin_token: str, repo: str, *, required_approvals: int = 0
) -> dict[str, Any]:
    """Protect ``main`` of the org's ``repo`` the way promotion needs, and fence the rest.

    Nobody pushes to ``main`` directly, and only the ``reviewers`` team (a
    person) merges pull requests into it: the promoter can push branches and
    open pull requests but neither push to ``main`` nor merge.
    ``required_approvals`` approvals from reviewers are needed before a merge.
    Every other branch may be pushed (and force-pushed, as a promotion
    branch is) by promoters and reviewers only, so the code write Gitea
    makes the reporter hold for commit statuses pushes no branch at all.
    Returns the rule on ``main``.
    """
    rule = {
        "rule_name": "main",
        "enable_push": True,
        "enable_push_whitelist": True,
        "push_whitelist_usernames": [],
        "push_whitelist_teams": [],
        "push_whitelist_deploy_keys": False,
        "enable_force_push": False,
        "enable_merge_whitelist": True,
        "merge_whitelist_teams": ["reviewers"],
        "merge_whitelist_usernames": [],
        "required_approvals": required_approvals,
        "enable_approvals_whitelist": required_approvals > 0,
        "approvals_whitelist_teams": ["reviewers"] if required_approvals > 0 else [],
        "block_on_rejected_reviews": True,
        "block_on_outdated_branch": False,
        "block_admin_merge_override": True,
    }
    # Created second, so it ranks after ``main``'s rule; ``**`` also matches
    # names with slashes (gitward/promote/web/prod).
    others = {
        "rule_name": "**",
        "enable_push": True,
        "enable_push_whitelist": True,
        "push_whitelist_usernames": [],
        "push_whitelist_teams": list(_BRANCH_PUSHERS),
        "push_whitelist_deploy_keys": False,
        "enable_force_push": True,
        "enable_force_push_allowlist": True,
        "force_push_allowlist_usernames": [],
        "force_push_allowlist_teams": list(_BRANCH_PUSHERS),
        "force_push_allowlist_deploy_keys": False,
    }
    with ForgeAPI(url, token=admin_token) as api:
        result: dict[str, Any] = api.call("POST", f"/repos/{ORG}/{repo}/branch_protections", rule)
        api.call("POST", f"/repos/{ORG}/{repo}/branch_protections", others)
    return result


def add_webhook(
    url: str,
    admin_token: str,
    repo: str,
    target: str,
    secret: str,
    *,
    events: Sequence[str] = ("push", "pull_request"),
) -> int:
    """A Gitea webhook on the org's ``repo`` posting JSON to ``target``; returns its id."""
    with ForgeAPI(url, token=admin_token) as api:
        hook = api.call(
            "POST",
            f"/repos/{ORG}/{repo}/hooks",
            {
                "type": "gitea",
                "active": True,
                "events": list(events),
                "config": {"url": target, "content_type": "json", "secret": secret},
            },
        )
    return int(hook["id"])

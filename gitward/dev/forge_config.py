"""Gitea's app.ini for the dev forge, and where its static files are.

The settings that matter: 127.0.0.1 only, SQLite, offline, no registration and
sign-in to view anything (the package registry holds the trust zones' artifacts),
webhooks to loopback only (a local controller), and running as root, which
this machine needs and Gitea refuses without being told.
"""

from __future__ import annotations

import getpass
import secrets
from pathlib import Path

from gitward.tools import pinned_build


def static_root(binary: Path) -> Path:
    """Where Gitea finds options/, templates/ and public/ (it is built without bindata)."""
    beside = binary.resolve().parent
    if (beside / "templates").is_dir():
        return beside
    return pinned_build("gitea").directory


def write_config(config: Path, *, work: Path, port: int, static_root: Path) -> None:
    """Gitea's app.ini for the dev forge, readable by its owner only."""
    data = work / "data"
    user = getpass.getuser()
    config.write_text(
        f"""APP_NAME = gitward dev forge
RUN_MODE = prod
RUN_USER = {user}
WORK_PATH = {work}
; dev up runs as whoever calls it, root included (CI, containers).
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {port}
DOMAIN = 127.0.0.1
ROOT_URL = http://127.0.0.1:{port}/
STATIC_ROOT_PATH = {static_root}
APP_DATA_PATH = {data}
OFFLINE_MODE = true
DISABLE_SSH = true
START_SSH_SERVER = false
LFS_START_SERVER = false

[database]
DB_TYPE = sqlite3
PATH = {data}/gitea.db
SQLITE_JOURNAL_MODE = WAL

[repository]
ROOT = {work}/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = {secrets.token_hex(32)}
INTERNAL_TOKEN = {secrets.token_hex(48)}

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = true
DEFAULT_ALLOW_CREATE_ORGANIZATION = false

[openid]
ENABLE_OPENID_SIGNIN = false
ENABLE_OPENID_SIGNUP = false

[webhook]
; Webhooks reach the local controller only.
ALLOWED_HOST_LIST = loopback
DELIVER_TIMEOUT = 10

[packages]
ENABLED = true

[actions]
ENABLED = false

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[queue]
TYPE = channel

[cache]
ADAPTER = memory

[session]
PROVIDER = memory

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[mailer]
ENABLED = false

[log]
MODE = console
LEVEL = Info
ROOT_PATH = {work}/log
logger.router.MODE =
logger.access.MODE =
logger.xorm.MODE =
"""
    )
    config.chmod(0o600)

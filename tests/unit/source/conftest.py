"""Real git repositories in ``tmp_path``, isolated from the user's git config."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.source import GitSource

AUTHOR = "Ada Lovelace <ada@example.com>"
COMMITTED_AT = "2024-05-01T12:00:00+02:00"


class Origin:
    """A repository to fetch from, with commits made by a fixed author at a fixed time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch=main")

    def git(self, *args: str) -> str:
        env = os.environ | {
            "GIT_AUTHOR_NAME": "Ada Lovelace",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_AUTHOR_DATE": COMMITTED_AT,
            "GIT_COMMITTER_NAME": "Ada Lovelace",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
            "GIT_COMMITTER_DATE": COMMITTED_AT,
        }
        result = subprocess.run(
            ["git", "-C", str(self.path), *args],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def commit(self, message: str, files: dict[str, str], *, delete: tuple[str, ...] = ()) -> str:
        """Write ``files``, delete ``delete``, commit everything; return the new SHA."""
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        for name in delete:
            (self.path / name).unlink()
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.sha("HEAD")

    def sha(self, rev: str) -> str:
        return self.git("rev-parse", f"{rev}^{{commit}}")


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No global or system git config, and a gitward cache inside ``tmp_path``."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GITWARD_CACHE", str(tmp_path / "cache"))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_COUNT", "GITWARD_GIT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def origin(tmp_path: Path) -> Iterator[Origin]:
    yield Origin(tmp_path / "origin")


@pytest.fixture
def source(origin: Origin) -> GitSource:
    return GitSource(url=f"file://{origin.path}")

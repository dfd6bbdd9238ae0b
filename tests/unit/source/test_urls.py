"""Which repository URLs are accepted, and how each is shown and cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.errors import SourceError
from gitward.source import GitCredentials, GitSource
from gitward.source.credentials import access_for, ssh_command
from gitward.source.urls import parse_url


@pytest.mark.parametrize(
    ("url", "transport"),
    [
        ("https://github.com/org/config.git", "http"),
        ("http://gitea.local:3000/org/config.git", "http"),
        ("ssh://git@github.com/org/config.git", "ssh"),
        ("git@github.com:org/config.git", "ssh"),
        ("github.com:org/config.git", "ssh"),
        ("file:///srv/git/config.git", "file"),
        ("/srv/git/config.git", "file"),
        ("git://git.local/config.git", "git"),
    ],
)
def test_accepted_urls_are_kept_as_given(url: str, transport: str) -> None:
    parsed = parse_url(url)

    assert parsed.for_git == url
    assert parsed.display == url
    assert parsed.transport == transport


@pytest.mark.parametrize(
    "url", ["ext::sh -c touch% /tmp/pwned", "fd::3", "ftp://host/repo.git", "   "]
)
def test_other_transports_are_refused(url: str) -> None:
    with pytest.raises(SourceError, match=r"unsupported repository URL|URL is empty"):
        GitSource(url=url)


def test_a_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    assert parse_url("repos/config").for_git == str(tmp_path / "repos" / "config")


def test_different_urls_get_different_caches(tmp_path: Path) -> None:
    one = GitSource(url="https://github.com/org/one.git", cache_dir=tmp_path)
    two = GitSource(url="https://github.com/org/two.git", cache_dir=tmp_path)

    assert one.cache_path.parent == two.cache_path.parent == tmp_path
    assert one.cache_path != two.cache_path


def test_default_cache_is_under_the_gitward_cache(tmp_path: Path) -> None:
    source = GitSource(url="https://github.com/org/one.git")

    assert source.cache_path.parent == tmp_path / "cache" / "git"


def test_token_applies_to_https_only() -> None:
    credentials = GitCredentials(token="t0k", ssh_key=Path("/keys/id"))

    https = access_for(credentials, parse_url("https://host/repo.git"))
    ssh = access_for(credentials, parse_url("git@host:repo.git"))

    assert list(https.config) == ["http.extraHeader"]
    assert "t0k" in https.secrets
    assert "GIT_SSH_COMMAND" not in https.env
    assert ssh.config == {}
    assert ssh.env == {"GIT_SSH_COMMAND": ssh_command(Path("/keys/id"))}


def test_ssh_command_uses_only_the_key_and_never_prompts() -> None:
    command = ssh_command(Path("/keys/my key"))

    assert command == (
        "ssh -i '/keys/my key' -o IdentitiesOnly=yes "
        "-o StrictHostKeyChecking=accept-new -o BatchMode=yes"
    )

"""Credentials never go over cleartext http:// or git:// unless the host is loopback or allowed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gitward.cli.main import cli
from gitward.errors import SourceError
from gitward.source import GitCredentials, GitSource
from gitward.source.credentials import access_for
from gitward.source.fetching import GitSource as FetchingSource
from gitward.source.opening import credentials_from_env
from gitward.source.revisions import Checkout
from gitward.source.urls import parse_url

TOKEN = "ghp_cl34rT3xtT0ken"


@pytest.mark.parametrize(
    "url",
    [
        "http://gitea.example.com/org/config.git",
        "git://git.example.com/config.git",
        "http://10.0.0.5:3000/org/config.git",
    ],
)
def test_token_over_cleartext_to_a_remote_host_is_refused_naming_the_url(url: str) -> None:
    with pytest.raises(SourceError) as caught:
        GitSource(url=url, credentials=GitCredentials(token=TOKEN))

    message = str(caught.value)
    assert message.startswith(f"{url}: refusing to send git credentials over cleartext ")
    assert TOKEN not in message
    assert "\n" not in message


def test_password_in_a_cleartext_url_is_refused_without_printing_it() -> None:
    url = f"http://bot:{TOKEN}@gitea.example.com/config.git"

    with pytest.raises(SourceError) as caught:
        GitSource(url=url)

    assert str(caught.value).startswith("http://bot@gitea.example.com/config.git: refusing")
    assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:3000/config.git",
        "http://localhost/config.git",
        "http://[::1]:3000/config.git",
    ],
)
def test_token_over_cleartext_to_loopback_is_allowed(url: str) -> None:
    access = access_for(GitCredentials(token=TOKEN), parse_url(url))

    assert access.config["http.extraHeader"].startswith("Authorization: Basic ")


def test_token_over_cleartext_is_allowed_when_the_user_says_so() -> None:
    url = parse_url("http://gitea.example.com/config.git")

    access = access_for(GitCredentials(token=TOKEN, allow_insecure=True), url)

    assert access.config["http.extraHeader"].startswith("Authorization: Basic ")


def test_cleartext_without_credentials_is_fine() -> None:
    access = access_for(GitCredentials(), parse_url("http://gitea.example.com/config.git"))

    assert access.config == {}
    assert access.secrets == ()


def test_a_token_over_https_may_not_be_redirected_to_plain_http() -> None:
    access = access_for(GitCredentials(token=TOKEN), parse_url("https://github.com/o/c.git"))

    assert "http" not in access.env["GIT_ALLOW_PROTOCOL"].split(":")
    assert "https" in access.env["GIT_ALLOW_PROTOCOL"].split(":")


@pytest.mark.parametrize(("value", "allowed"), [("1", True), ("true", True), ("", False)])
def test_gitward_allow_insecure_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, allowed: bool
) -> None:
    monkeypatch.setenv("GITWARD_ALLOW_INSECURE", value)

    assert credentials_from_env().allow_insecure is allowed


@pytest.mark.parametrize(
    ("flag", "expected"),
    [((), "refusing to send git credentials"), (("--insecure-skip-tls",), "fetch reached")],
)
def test_cli_refuses_a_cleartext_token_unless_insecure_skip_tls_is_given(
    monkeypatch: pytest.MonkeyPatch, flag: tuple[str, ...], expected: str
) -> None:
    # Set (not deleted) so that monkeypatch restores it after the flag sets it.
    monkeypatch.setenv("GITWARD_ALLOW_INSECURE", "")
    monkeypatch.setenv("GITWARD_GIT_TOKEN", TOKEN)

    def no_network(self: FetchingSource, ref: str) -> Checkout:
        raise SourceError(f"{self.url}: fetch reached")

    monkeypatch.setattr(FetchingSource, "checkout", no_network)
    url = "http://gitea.example.com/config.git"

    result = CliRunner().invoke(cli, [*flag, "render", "web", "--repo", url, "--revision", "main"])

    assert result.exit_code == 2
    assert expected in result.output
    assert TOKEN not in result.output

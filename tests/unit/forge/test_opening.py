"""Which forge a repository lives on, as given or from its clone URL."""

from __future__ import annotations

import pytest

from gitward.errors import ConfigError
from gitward.forge import forge_of


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:3000/shop/config.git", ("gitea", "http://127.0.0.1:3000")),
        ("https://git.example.com/shop/config", ("gitea", "https://git.example.com")),
        ("https://github.com/shop/config.git", ("github", "https://api.github.com")),
        ("https://gitlab.com/shop/config.git", ("gitlab", "https://gitlab.com")),
        ("git@github.com:shop/config.git", ("github", "https://api.github.com")),
        ("ssh://git@git.example.com:2222/shop/config.git", ("gitea", "https://git.example.com")),
    ],
)
def test_the_forge_is_told_from_the_clone_url(url: str, expected: tuple[str, str]) -> None:
    assert forge_of(url) == expected


def test_what_is_given_wins_over_the_url() -> None:
    assert forge_of(
        "https://git.example.com/shop/config", kind="forgejo", url="https://git.example.com/f"
    ) == ("forgejo", "https://git.example.com/f")


def test_a_url_without_a_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot tell the forge"):
        forge_of("/srv/config.git")

"""What the controller tells the UI about its repository."""

from __future__ import annotations

from gitward.heal.statuses import public_url


def test_a_repository_url_loses_its_credentials_and_keeps_the_rest() -> None:
    assert public_url("https://bot:s3cret@git.example:8443/o/r.git") == (
        "https://git.example:8443/o/r.git"
    )
    assert public_url("https://token@github.com/o/r") == "https://github.com/o/r"
    assert public_url("file:///srv/config") == "file:///srv/config"

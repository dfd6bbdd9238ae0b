"""When the API needs a token, and how a bearer token is checked."""

from __future__ import annotations

import pytest

from gitward.api.auth import bearer_matches, is_loopback


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"])
def test_loopback_hosts_may_go_without_a_token(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "[::]", "10.0.0.7", "gitward.local", ""])
def test_any_other_host_needs_a_token(host: str) -> None:
    assert not is_loopback(host)


def test_only_the_exact_token_as_a_bearer_matches() -> None:
    assert bearer_matches({"authorization": "Bearer s3cret"}, "s3cret")
    assert bearer_matches({"authorization": "bearer s3cret"}, "s3cret")
    assert not bearer_matches({"authorization": "Bearer s3cre"}, "s3cret")
    assert not bearer_matches({"authorization": "Bearer s3cretx"}, "s3cret")
    assert not bearer_matches({"authorization": "Basic s3cret"}, "s3cret")
    assert not bearer_matches({"authorization": "s3cret"}, "s3cret")
    assert not bearer_matches({}, "s3cret")


def test_an_empty_token_matches_nothing() -> None:
    assert not bearer_matches({"authorization": "Bearer "}, "")
    assert not bearer_matches({}, "")

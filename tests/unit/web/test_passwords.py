"""Password hashes, sessions and the failed-login throttle, without a server."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gitward.cli.main import cli
from gitward.web.passwords import PasswordFormatError, hash_password, is_hash, verify_password
from gitward.web.throttle import Throttle


def test_a_hash_checks_its_password_and_no_other() -> None:
    encoded = hash_password("correct horse")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert "correct horse" not in encoded
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct hors", encoded)
    assert not verify_password("", encoded)


def test_two_hashes_of_one_password_differ_by_their_salt() -> None:
    assert hash_password("same") != hash_password("same")


@pytest.mark.parametrize(
    "stored",
    [
        "plaintext-password",
        "pbkdf2_sha256$1000$salt$key",
        "scrypt$16385$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",  # n not a power of 2
        "scrypt$1048576$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",  # 1 GiB of memory
        "scrypt$16384$8$1$!!$a2V5",
    ],
)
def test_a_stored_value_that_is_no_hash_is_refused_without_being_echoed(stored: str) -> None:
    assert not is_hash(stored)
    with pytest.raises(PasswordFormatError) as raised:
        verify_password("x", stored)
    assert stored not in str(raised.value)


def test_gitward_ui_hash_password_prints_a_hash_of_stdin_and_not_the_password() -> None:
    done = CliRunner().invoke(cli, ["ui", "hash-password"], input="s3cret pass\n")
    assert done.exit_code == 0, done.output
    encoded = done.output.strip()
    assert verify_password("s3cret pass", encoded)
    assert "s3cret" not in done.output
    empty = CliRunner().invoke(cli, ["ui", "hash-password"], input="\n")
    assert empty.exit_code == 2 and "password is empty" in empty.output


def test_the_throttle_stops_an_address_after_five_failures_for_a_minute() -> None:
    now = [0.0]
    throttle = Throttle(limit=5, window=60.0, clock=lambda: now[0])
    for _ in range(5):
        assert throttle.wait("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
        now[0] += 1
    assert throttle.wait("10.0.0.1") == pytest.approx(55.0)
    assert throttle.wait("10.0.0.2") == 0, "another address is not slowed"
    now[0] = 60.5
    assert throttle.wait("10.0.0.1") == 0, "the oldest failure aged out"


def test_a_success_clears_the_count_and_memory_stays_bounded() -> None:
    throttle = Throttle(limit=2, max_clients=3, clock=lambda: 0.0)
    throttle.failed("a")
    throttle.succeeded("a")
    throttle.failed("a")
    assert throttle.wait("a") == 0
    for client in "bcde":
        throttle.failed(client)
    assert len(throttle._failures) == 3


def test_a_session_expires_after_its_ttl_and_ends_at_log_out() -> None:
    from gitward.web.sessions import TTL_SECONDS, Sessions

    now = [0.0]
    sessions = Sessions("", passwords=True, clock=lambda: now[0])
    assert sessions.enabled and not sessions.by_token
    assert sessions.login("") is None, "no token: no token login"
    session = sessions.start("alice")
    assert sessions.get(session.id) == session and session.user == "alice"
    now[0] = TTL_SECONDS - 1
    assert sessions.get(session.id) is not None
    now[0] = TTL_SECONDS
    assert sessions.get(session.id) is None, "expired"
    other = sessions.start("bob")
    sessions.logout(other.id)
    assert sessions.get(other.id) is None

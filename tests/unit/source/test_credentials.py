"""Credentials reach git, and never reach a message, a repr or the disk."""

from __future__ import annotations

import base64
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gitward.errors import SourceError
from gitward.source import GitCredentials, GitSource

TOKEN = "ghp_s3cr3tT0kenValue"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


class _Recorder(BaseHTTPRequestHandler):
    authorizations: list[str | None]

    def do_GET(self) -> None:
        self.authorizations.append(self.headers.get("Authorization"))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str | None]]]:
    """A server that records each request's Authorization header and answers 404."""
    seen: list[str | None] = []
    handler = type("Handler", (_Recorder,), {"authorizations": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/config.git", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_token_never_appears_in_an_unreachable_repository_error() -> None:
    url = f"https://127.0.0.1:{_closed_port()}/org/config.git"
    source = GitSource(url=url, credentials=GitCredentials(token=TOKEN))

    with pytest.raises(SourceError) as caught:
        source.resolve("main")

    message = str(caught.value)
    assert TOKEN not in message
    assert "\n" not in message
    assert message.startswith(f"{url}: git fetch failed: ")
    assert "127.0.0.1" in message


def test_password_in_the_url_is_left_out_of_messages_and_the_cache_key(tmp_path: Path) -> None:
    port = _closed_port()
    source = GitSource(url=f"https://bot:{TOKEN}@127.0.0.1:{port}/config.git")
    rotated = GitSource(url=f"https://bot:another@127.0.0.1:{port}/config.git")

    with pytest.raises(SourceError) as caught:
        source.resolve("main")

    assert TOKEN not in str(caught.value)
    assert source.url == f"https://bot@127.0.0.1:{port}/config.git"
    assert TOKEN not in repr(source)
    assert rotated.cache_path == source.cache_path


def test_token_is_sent_as_an_authorization_header_and_not_stored(
    http_server: tuple[str, list[str | None]], tmp_path: Path
) -> None:
    url, seen = http_server
    source = GitSource(url=url, credentials=GitCredentials(token=TOKEN, username="bot"))

    with pytest.raises(SourceError, match="not found") as caught:
        source.resolve("main")

    expected = "Basic " + base64.b64encode(f"bot:{TOKEN}".encode()).decode()
    assert seen and set(seen) == {expected}
    assert TOKEN not in str(caught.value)
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
            assert expected.split()[1].encode() not in path.read_bytes(), path


def test_no_token_means_no_authorization_header(
    http_server: tuple[str, list[str | None]],
) -> None:
    url, seen = http_server

    with pytest.raises(SourceError):
        GitSource(url=url).resolve("main")

    assert seen and set(seen) == {None}


def test_credentials_repr_hides_the_token() -> None:
    credentials = GitCredentials(token=TOKEN, ssh_key=Path("/keys/deploy"))

    assert TOKEN not in repr(credentials)
    assert "/keys/deploy" in repr(credentials)


def test_a_missing_ssh_key_is_reported_before_connecting(tmp_path: Path) -> None:
    key = tmp_path / "missing_ed25519"
    source = GitSource(
        url=f"ssh://git@127.0.0.1:{_closed_port()}/config.git",
        credentials=GitCredentials(ssh_key=key),
    )

    with pytest.raises(SourceError, match=re.escape(f"ssh key {key} not found")):
        source.resolve("main")


def test_an_unreachable_ssh_repository_reports_ssh_s_reason(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key\n")
    key.chmod(0o600)
    port = _closed_port()
    url = f"ssh://git@127.0.0.1:{port}/config.git"
    source = GitSource(url=url, credentials=GitCredentials(ssh_key=key))

    with pytest.raises(SourceError) as caught:
        source.resolve("main")

    assert str(caught.value).startswith(f"{url}: git fetch failed: ")
    assert "\n" not in str(caught.value)


def test_a_silent_server_times_out_as_a_source_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()  # never accepted: git connects, sends, and waits
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/config.git"
        source = GitSource(url=url, credentials=GitCredentials(token=TOKEN), timeout=0.5)

        with pytest.raises(SourceError) as caught:
            source.resolve("main")

    assert str(caught.value) == f"{url}: git fetch timed out after 0.5s"

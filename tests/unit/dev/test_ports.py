"""Dev cluster ports: below the ephemeral range, free when chosen, refused clearly."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitward.dev import ports
from gitward.dev.ports import Ports, PortsUnavailable


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    s = socket.socket()
    s.bind(("127.0.0.1", ports.free_port()))
    s.listen()
    yield s
    s.close()


def test_no_default_port_lies_in_the_ephemeral_range() -> None:
    low, high = ports.ephemeral_range()
    for kernel_low in (low, 32768):
        for what, port in Ports.block(ports.DEFAULT_BASE).items():
            assert port < kernel_low, f"{what} default {port} is in {kernel_low}-{high}"


def test_ephemeral_range_is_read_from_the_kernel_file(tmp_path: Path) -> None:
    f = tmp_path / "range"
    f.write_text("40000\t50000\n")
    assert ports.ephemeral_range(f) == (40000, 50000)


def test_ephemeral_range_falls_back_to_linux_default_when_unreadable(tmp_path: Path) -> None:
    assert ports.ephemeral_range(tmp_path / "missing") == (32768, 60999)


def test_chosen_ports_are_distinct_free_and_below_the_ephemeral_range() -> None:
    chosen = ports.choose()
    low, _ = ports.ephemeral_range()
    numbers = [p for _, p in chosen.items()]
    assert len(set(numbers)) == len(numbers)
    assert all(p < low for p in numbers)
    assert all(ports.is_free(p) for p in numbers)


def test_choose_skips_a_block_in_which_any_port_is_taken() -> None:
    for _ in range(10):  # other test sessions on this machine may take ports meanwhile
        first = ports.choose()
        with socket.socket() as s:
            # As servers do: a port whose old connections linger in TIME_WAIT is free.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", first.etcd))
            except OSError:
                continue
            s.listen()
            second = ports.choose()
        assert first.etcd not in [p for _, p in second.items()]
        return
    pytest.fail("could not hold a port of a chosen block")


def test_an_explicit_port_that_is_taken_is_refused_naming_it(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    with pytest.raises(PortsUnavailable, match=rf"127\.0\.0\.1:{port} for the registry is taken"):
        ports.choose(registry=port)


def test_an_explicit_port_in_the_ephemeral_range_is_refused() -> None:
    low, _ = ports.ephemeral_range()
    with pytest.raises(PortsUnavailable, match="ephemeral range"):
        ports.choose(apiserver=low + 1)


def test_an_explicit_port_is_kept_and_the_rest_come_from_a_block() -> None:
    wanted = ports.free_port()
    chosen = ports.choose(apiserver=wanted)
    assert chosen.apiserver == wanted
    assert chosen.registry != wanted


def test_free_port_is_below_the_ephemeral_range_and_free() -> None:
    low, _ = ports.ephemeral_range()
    for _ in range(20):
        port = ports.free_port()
        assert port < low
        assert ports.is_free(port)


def test_the_ports_of_the_last_start_are_taken_again_when_free(tmp_path: Path) -> None:
    # Another cluster on this machine may hold any block: remember a free one
    # that is not the first free block, so only the memory can pick it.
    first = ports.choose()
    low, _ = ports.ephemeral_range()
    blocks = (
        ports.Ports.block(base)
        for base in range(first.apiserver + 2 * ports.BLOCK, low - ports.BLOCK, ports.BLOCK)
    )
    last = next(b for b in blocks if all(ports.is_free(port) for _, port in b.items()))
    ports.remember(tmp_path, last)
    assert ports.remembered(tmp_path) == last
    assert ports.choose(prefer=ports.remembered(tmp_path)) == last
    # One of them taken: a free block instead, as without a memory.
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", last.registry))
        s.listen()
        again = ports.choose(prefer=last)
    assert again != last and again.registry != last.registry


def test_nothing_remembered_reads_as_none(tmp_path: Path) -> None:
    assert ports.remembered(tmp_path) is None
    (tmp_path / "last-ports.json").write_text("{not json")
    assert ports.remembered(tmp_path) is None

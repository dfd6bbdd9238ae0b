"""Delivery: signed, filtered, once per event and provider, retried, then given up."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx
import pytest

from gitward.api.metrics import Registry, controller_metrics
from gitward.config.notifications import EventKind, Provider, ProviderKind, SecretRef
from gitward.errors import ConfigError
from gitward.kube import Kube
from gitward.kube.fake import FakeApiServer
from gitward.notify import DeliveryCounters, Notifier, ledger
from gitward.notify.checking import check_notifications
from gitward.notify.ledger import DeliveryState
from tests.unit.fakecluster import server
from tests.unit.forge.fakeforge import FakeForge
from tests.unit.notify.receivers import (
    SECRET,
    Receiver,
    add_secret,
    note,
    notifier,
    settings,
    webhook,
)

T = TypeVar("T")


def run(srv: FakeApiServer, fn: Callable[[Kube], Awaitable[T]]) -> T:
    async def go() -> T:
        async with srv.kube() as kube:
            return await fn(kube)

    return asyncio.run(go())


async def deliver(n: Notifier, *notes: object) -> None:
    await n.start()
    for x in notes:
        n.emit(x)  # type: ignore[arg-type]
    await n.settled()
    await n.stop()


def test_a_webhook_gets_the_event_as_json_signed_with_hmac_sha256() -> None:
    srv, receiver = server(), Receiver()

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        await deliver(notifier(kube, settings(webhook()), receiver), note())

    run(srv, go)
    (request,) = receiver.requests
    expected = "sha256=" + hmac.new(SECRET, request.content, hashlib.sha256).hexdigest()
    assert request.headers["X-Gitward-Signature-256"] == expected
    assert request.headers["X-Gitward-Event"] == "sync-failed"
    assert request.headers["X-Gitward-Delivery"] == note().id
    (body,) = receiver.bodies()
    assert body["event"] == "sync-failed"
    assert body["app"] == "shop"
    assert body["revision"] == "b" * 40
    assert body["revisionUrl"] == f"https://git.example/acme/config/commit/{'b' * 40}"
    assert body["message"] == "Deployment/shop/web: apply failed: quota exceeded"


def test_the_same_event_is_delivered_once_however_often_it_is_emitted() -> None:
    srv, receiver = server(), Receiver()

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        await deliver(notifier(kube, settings(webhook()), receiver), note(), note(), note())

    run(srv, go)
    assert len(receiver.requests) == 1


def test_a_new_leader_does_not_deliver_again_what_the_old_one_delivered() -> None:
    srv, first, second = server(), Receiver(), Receiver()

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        await deliver(notifier(kube, settings(webhook()), first), note())
        # Another process: only the cluster is shared.
        await deliver(notifier(kube, settings(webhook()), second), note())

    run(srv, go)
    assert (len(first.requests), len(second.requests)) == (1, 0)


def test_a_new_revision_or_another_event_is_news() -> None:
    srv, receiver = server(), Receiver()

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        await deliver(
            notifier(kube, settings(webhook()), receiver),
            note(),
            note(revision="c" * 40),
            note(EventKind.SYNC_SUCCEEDED),
        )

    run(srv, go)
    assert sorted((b["event"], b["revision"][:1]) for b in receiver.bodies()) == [
        ("sync-failed", "b"),
        ("sync-failed", "c"),
        ("sync-succeeded", "b"),
    ]


def test_filters_choose_apps_by_glob_and_events() -> None:
    srv, receiver = server(), Receiver()
    only = webhook(apps=["shop-*"], events=[EventKind.SYNC_FAILED])

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        await deliver(
            notifier(kube, settings(only), receiver),
            note(app="shop-eu"),
            note(app="billing"),
            note(EventKind.SYNC_SUCCEEDED, app="shop-us"),
        )

    run(srv, go)
    assert [b["app"] for b in receiver.bodies()] == ["shop-eu"]


def test_a_receiver_failing_three_times_gets_the_message_once_it_recovers() -> None:
    srv, receiver, registry = server(), Receiver(script=[500, 500, 500]), Registry()

    async def go(kube: Kube) -> list[ledger.Delivery]:
        await add_secret(kube)
        await deliver(notifier(kube, settings(webhook()), receiver, registry=registry), note())
        return await ledger.load(kube, "prod.shop")

    (entry,) = run(srv, go)
    assert len(receiver.requests) == 4
    assert len({r.headers["X-Gitward-Delivery"] for r in receiver.requests}) == 1
    assert (entry.state, entry.attempts) == (DeliveryState.SENT, 4)
    labels = {"provider": "ops", "event": "sync-failed"}
    assert registry.get_sample_value("gitward_notifications_sent_total", labels) == 1.0
    assert registry.get_sample_value("gitward_notifications_failed_total", labels) is None


def test_a_receiver_that_never_recovers_is_given_up_and_counted() -> None:
    srv, receiver, registry = server(), Receiver(script=[503] * 1000), Registry()

    async def go(kube: Kube) -> list[ledger.Delivery]:
        await add_secret(kube)
        config = settings(webhook(), give_up_after=0.2)
        await deliver(notifier(kube, config, receiver, registry=registry), note())
        return await ledger.load(kube, "prod.shop")

    (entry,) = run(srv, go)
    assert entry.state is DeliveryState.FAILED
    assert entry.error == "provider ops (webhook): answered HTTP 503"
    assert len(receiver.requests) > 2
    labels = {"provider": "ops", "event": "sync-failed"}
    assert registry.get_sample_value("gitward_notifications_failed_total", labels) == 1.0


def test_a_receiver_refusing_the_message_is_not_asked_again() -> None:
    srv, receiver, registry = server(), Receiver(script=[403]), Registry()

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        await deliver(notifier(kube, settings(webhook()), receiver, registry=registry), note())

    run(srv, go)
    assert len(receiver.requests) == 1
    labels = {"provider": "ops", "event": "sync-failed"}
    assert registry.get_sample_value("gitward_notifications_failed_total", labels) == 1.0


def test_a_new_leader_finishes_a_delivery_the_old_one_left_pending() -> None:
    srv, down, up = server(), Receiver(script=[500] * 1000), Receiver()

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        old = notifier(kube, settings(webhook()), down)
        await old.start()
        old.emit(note())
        while not down.requests:
            await asyncio.sleep(0.01)
        await old.stop()  # the leader is gone, the delivery still pending
        (entry,) = await ledger.load(kube, "prod.shop")
        assert entry.state is DeliveryState.PENDING
        new = notifier(kube, settings(webhook()), up)
        await new.start()
        while not up.requests:
            await asyncio.sleep(0.01)
        await new.settled()
        await new.stop()

    run(srv, go)
    (body,) = up.bodies()
    assert body["id"] == note().id


def test_a_rotated_secret_signs_the_next_message() -> None:
    srv, receiver = server(), Receiver()

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        await deliver(notifier(kube, settings(webhook()), receiver), note())
        await add_secret(kube, b"rotated")
        await deliver(notifier(kube, settings(webhook()), receiver), note(revision="c" * 40))

    run(srv, go)
    first, second = receiver.requests
    assert second.headers["X-Gitward-Signature-256"] == (
        "sha256=" + hmac.new(b"rotated", second.content, hashlib.sha256).hexdigest()
    )
    assert first.headers["X-Gitward-Signature-256"] != second.headers["X-Gitward-Signature-256"]


def test_a_secret_reference_that_does_not_exist_stops_the_start_naming_it() -> None:
    srv = server()
    with pytest.raises(ConfigError) as caught:
        run(srv, lambda kube: check_notifications(kube, settings(webhook())))
    assert str(caught.value) == (
        "notify.yaml:3: provider ops: Secret gitward-system/gitward-notify not found"
    )


def test_emitting_while_not_leading_sends_nothing() -> None:
    srv, receiver = server(), Receiver()

    async def go(kube: Kube) -> None:
        await add_secret(kube)
        n = notifier(kube, settings(webhook()), receiver)
        n.emit(note())
        await deliver(n)

    run(srv, go)
    assert receiver.requests == []


def test_a_slack_webhook_gets_text_and_blocks_unsigned() -> None:
    srv, receiver = server(), Receiver()
    chat = Provider(name="chat", kind=ProviderKind.SLACK, url="https://hooks.slack.test/T/B/x")

    async def go(kube: Kube) -> None:
        await deliver(notifier(kube, settings(chat), receiver), note())

    run(srv, go)
    (request,) = receiver.requests
    assert "X-Gitward-Signature-256" not in request.headers
    (body,) = receiver.bodies()
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith("app shop: sync failed at bbbbbbbbbbbb")


def test_the_forge_provider_sets_a_commit_status_once() -> None:
    srv, forge = server(), FakeForge()
    commits = Provider(name="commits", kind=ProviderKind.FORGE)

    async def go(kube: Kube) -> None:
        await deliver(notifier(kube, settings(commits), Receiver(), forge=forge), note(), note())

    run(srv, go)
    assert [c for c in forge.calls if c.startswith("set_status")] == [
        "set_status gitward/sync/shop failure"
    ]


def test_stopping_lets_a_message_on_its_way_be_answered_and_recorded() -> None:
    srv = server()
    entered, release = asyncio.Event(), asyncio.Event()
    requests: list[httpx.Request] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        entered.set()
        await release.wait()
        return httpx.Response(200)

    async def go(kube: Kube) -> list[ledger.Delivery]:
        await add_secret(kube)
        metrics = controller_metrics(Registry())
        n = Notifier(
            kube=kube,
            settings=settings(webhook()),
            counters=DeliveryCounters(
                sent=metrics.notifications_sent_total, failed=metrics.notifications_failed_total
            ),
            transport=httpx.MockTransport(slow),
        )
        await n.start()
        n.emit(note())
        await entered.wait()
        stopping = asyncio.create_task(n.stop())
        await asyncio.sleep(0.05)
        assert not stopping.done(), "stop() must wait for the answer"
        release.set()
        await stopping
        return await ledger.load(kube, "prod.shop")

    (entry,) = run(srv, go)
    assert entry.state is DeliveryState.SENT
    assert len(requests) == 1


def test_stopping_drops_a_retry_that_is_only_waiting_and_leaves_it_pending() -> None:
    srv, receiver = server(), Receiver(script=[500] * 1000)

    async def go(kube: Kube) -> list[ledger.Delivery]:
        await add_secret(kube)
        n = notifier(kube, settings(webhook()), receiver)
        await n.start()
        n.emit(note())
        while not receiver.requests:
            await asyncio.sleep(0.005)
        await asyncio.wait_for(n.stop(), timeout=2)
        return await ledger.load(kube, "prod.shop")

    (entry,) = run(srv, go)
    assert entry.state is DeliveryState.PENDING


def test_a_slack_webhook_url_can_come_from_a_secret_and_never_shows_in_an_error() -> None:
    srv, receiver = server(), Receiver()
    hook = "https://hooks.slack.test/services/T0/B0/token-in-the-url"
    chat = Provider(
        name="chat",
        kind=ProviderKind.SLACK,
        secret_ref=SecretRef(name="gitward-notify", key="hmac"),
        where="notify.yaml:3",
    )

    async def go(kube: Kube, value: bytes) -> list[ledger.Delivery]:
        await add_secret(kube, value)
        await deliver(notifier(kube, settings(chat, give_up_after=0.2), receiver), note())
        return await ledger.load(kube, "prod.shop")

    (sent,) = run(srv, lambda kube: go(kube, hook.encode() + b"\n"))
    assert sent.state is DeliveryState.SENT
    (request,) = receiver.requests
    assert str(request.url) == hook

    # A value that is not a URL is given up in time, and the error names the provider only.
    (failed,) = run(server(), lambda kube: go(kube, b"token-in-the-url"))
    assert failed.state is DeliveryState.FAILED
    assert failed.error == ("notify.yaml:3: provider chat: its secret does not hold an http(s) URL")
    assert len(receiver.requests) == 1

"""What each event says, which id it gets, and where its links go."""

from __future__ import annotations

from typing import Any

from gitward.config.apps import AppSpec
from gitward.config.notifications import EventKind
from gitward.forge import CommitState, ForgeSettings
from gitward.health import HealthStatus
from gitward.notify import Notification
from gitward.notify.links import revision_url
from gitward.notify.messages import commit_status, slack_body
from gitward.notify.notices import Notices
from gitward.render.results import ChartDependency

APP = AppSpec(name="shop", path="apps/shop", namespace="shop", environment="prod")
SHA = "d" * 40
CODE = "e" * 40


class Collected:
    """Stands in for the notifier: keeps what it is given."""

    def __init__(self) -> None:
        self.notes: list[Notification] = []

    def emit(self, note: Notification) -> None:
        self.notes.append(note)


def notices(**kw: Any) -> tuple[Notices, Collected]:
    got = Collected()
    made = Notices(got, repo="https://git.example/acme/config.git", **kw)  # type: ignore[arg-type]
    return made, got


def test_health_is_news_when_it_degrades_and_when_it_recovers() -> None:
    n, got = notices()
    for status in (
        HealthStatus.PROGRESSING,
        HealthStatus.HEALTHY,
        HealthStatus.DEGRADED,
        HealthStatus.DEGRADED,
        HealthStatus.PROGRESSING,
        HealthStatus.HEALTHY,
        HealthStatus.HEALTHY,
    ):
        n.health(APP, SHA, status, "web: 0/2 ready" if status is HealthStatus.DEGRADED else "")
    assert [(x.event, x.message) for x in got.notes] == [
        (EventKind.HEALTH_DEGRADED, "web: 0/2 ready"),
        (EventKind.HEALTH_RECOVERED, ""),
    ]


def test_each_drift_of_an_object_is_its_own_event_and_each_repeat_the_same() -> None:
    n, got = notices()
    n.drift_detected(APP, SHA, obj="ConfigMap/shop/a", version="101", message="modified")
    n.drift_detected(APP, SHA, obj="ConfigMap/shop/a", version="101", message="modified")
    n.drift_detected(APP, SHA, obj="ConfigMap/shop/a", version="107", message="modified")
    first, again, later = got.notes
    assert first.id == again.id
    assert first.id != later.id
    assert first.object == "ConfigMap/shop/a@101"


def test_the_id_is_the_same_on_any_replica_and_differs_by_app_revision_and_event() -> None:
    base = Notification(event=EventKind.SYNC_FAILED, app="shop", key="prod.shop", revision=SHA)
    same = Notification(
        event=EventKind.SYNC_FAILED, app="shop", key="prod.shop", revision=SHA, message="other"
    )
    assert base.id == same.id
    others = [
        Notification(event=EventKind.SYNC_FAILED, app="shop", key="dev.shop", revision=SHA),
        Notification(event=EventKind.SYNC_FAILED, app="shop", key="prod.shop", revision=CODE),
        Notification(event=EventKind.SYNC_SUCCEEDED, app="shop", key="prod.shop", revision=SHA),
    ]
    assert len({base.id, *(o.id for o in others)}) == 4


def test_a_sync_links_its_revision_and_the_commit_each_chart_was_built_from() -> None:
    n, got = notices()
    chart = ChartDependency(
        name="hello",
        alias="",
        version="1.0.0",
        repository="oci://registry.test/charts",
        commit=CODE,
        source="https://code.example/acme/hello.git",
    )
    n.sync_ended(APP, SHA, charts=[chart])
    n.health(APP, SHA, HealthStatus.DEGRADED)
    synced, degraded = got.notes
    assert synced.revision_url == f"https://git.example/acme/config/commit/{SHA}"
    (link,) = synced.charts
    assert (link.name, link.version, link.commit) == ("hello", "1.0.0", CODE)
    assert link.commit_url == f"https://code.example/acme/hello/commit/{CODE}"
    # Later events of the app name the charts of its last successful sync.
    assert degraded.charts == synced.charts


def test_on_a_configured_forge_the_revision_links_there() -> None:
    gitea = ForgeSettings(kind="gitea", url="http://127.0.0.1:3000/", repo="acme/config", token="t")
    assert revision_url(repo="ignored", sha=SHA, forge=gitea) == (
        f"http://127.0.0.1:3000/acme/config/commit/{SHA}"
    )
    github = ForgeSettings(kind="github", url="https://api.github.com", repo="o/r", token="t")
    assert revision_url(repo="", sha=SHA, forge=github) == f"https://github.com/o/r/commit/{SHA}"
    assert revision_url(repo="/srv/config", sha=SHA, forge=None) == ""


def test_a_refused_commit_is_the_repositorys_event() -> None:
    n, got = notices()
    n.commit_refused(SHA, f"commit {SHA[:12]}: not signed")
    (note,) = got.notes
    assert (note.app, note.key, note.event) == ("", "", EventKind.COMMIT_REFUSED)
    status = commit_status(note)
    assert (status.context, status.state) == ("gitward/verify", CommitState.FAILURE)


def test_the_forge_shows_each_kind_of_news_in_a_context_of_its_own() -> None:
    n, got = notices()
    n.sync_ended(APP, SHA, failed_because="Deployment/shop/web: invalid")
    n.drift_corrected(APP, SHA, obj="ConfigMap/shop/a", version="9", message="re-applied")
    failed, corrected = (commit_status(x) for x in got.notes)
    assert (failed.context, failed.state) == ("gitward/sync/shop", CommitState.FAILURE)
    assert failed.description == "sync failed: Deployment/shop/web: invalid"
    assert (corrected.context, corrected.state) == ("gitward/drift/shop", CommitState.SUCCESS)


def test_a_slack_message_has_a_text_fallback_and_blocks_with_the_links() -> None:
    n, got = notices(public_url="http://gitward.test/")
    n.sync_ended(APP, SHA, failed_because="quota exceeded")
    body = slack_body(got.notes[0])
    assert body["text"] == f"app shop: sync failed at {SHA[:12]}: quota exceeded"
    section, context = body["blocks"]
    assert section["type"] == "section" and "quota exceeded" in section["text"]["text"]
    details = context["elements"][0]["text"]
    assert f"<https://git.example/acme/config/commit/{SHA}|{SHA[:12]}>" in details
    assert "<http://gitward.test/api/v1/apps/shop|status>" in details


def test_slack_markup_in_a_message_is_shown_as_text() -> None:
    n, got = notices()
    n.sync_ended(APP, SHA, failed_because="Deployment/shop/<web>: a & b")
    section = slack_body(got.notes[0])["blocks"][0]["text"]["text"]
    assert "Deployment/shop/&lt;web&gt;: a &amp; b" in section


def test_a_long_reason_is_cut_to_the_limit() -> None:
    n, got = notices()
    n.sync_ended(APP, SHA, failed_because="x" * 10_000)
    assert len(got.notes[0].message) == 4000 and got.notes[0].message.endswith("…")

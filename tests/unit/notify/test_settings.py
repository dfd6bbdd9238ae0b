"""The notifications file: what it accepts, and bad input named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitward.config.notifications import (
    EventKind,
    ProviderKind,
    SecretRef,
    load_notifications,
    parse_notifications,
)
from gitward.errors import ConfigError
from gitward.notify.checking import load_settings

GOOD = """\
notifications:
  retry: {initialDelay: 0.5, maxDelay: 8, giveUpAfter: 120}
  providers:
    - name: ops
      type: webhook
      url: https://hooks.example.com/gitward
      secretRef: {name: gitward-notify, key: hmac}
      apps: [shop, "shop-*"]
      events: [sync-failed, health-degraded]
    - name: chat
      type: slack
      url: https://hooks.slack.test/services/T0/B0/x
    - name: commits
      type: forge
"""


def parse(text: str, tmp_path: Path) -> object:
    return parse_notifications(text, filename="notify.yaml", base=tmp_path)


def test_a_full_file_reads_as_providers_filters_and_retry(tmp_path: Path) -> None:
    settings = parse_notifications(GOOD, filename="notify.yaml", base=tmp_path)
    ops, chat, commits = settings.providers
    assert (ops.kind, chat.kind, commits.kind) == (
        ProviderKind.WEBHOOK,
        ProviderKind.SLACK,
        ProviderKind.FORGE,
    )
    assert ops.secret_ref == SecretRef(name="gitward-notify", key="hmac")
    assert ops.where == "notify.yaml:4"
    assert settings.retry.initial == 0.5 and settings.retry.give_up_after == 120
    assert chat.events == frozenset(EventKind)


def test_filters_take_app_names_and_globs_and_events(tmp_path: Path) -> None:
    ops = parse_notifications(GOOD, filename="n.yaml", base=tmp_path).providers[0]
    assert ops.wants(EventKind.SYNC_FAILED, "shop")
    assert ops.wants(EventKind.SYNC_FAILED, "shop-eu")
    assert not ops.wants(EventKind.SYNC_FAILED, "billing")
    assert not ops.wants(EventKind.SYNC_SUCCEEDED, "shop")
    # A refused commit is the repository's, not an app's: app filters do not hold it back.
    everything = parse_notifications(GOOD, filename="n.yaml", base=tmp_path).providers[1]
    assert everything.wants(EventKind.COMMIT_REFUSED, "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "notifications:\n  providers:\n    - name: x\n      type: teams\n      url: https://a.test\n",
            "notify.yaml:4: provider x: unknown provider type 'teams' (webhook, slack, forge)",
        ),
        (
            "notifications:\n  providers:\n    - name: x\n      type: slack\n"
            "      url: hooks.slack.test/services/1\n",
            "notify.yaml:5: provider x: url 'hooks.slack.test/services/1' has no scheme; "
            "write https://hooks.slack.test/services/1",
        ),
        (
            "notifications:\n  providers:\n    - name: x\n      type: webhook\n"
            "      url: https://a.test\n",
            "notify.yaml:3: provider x: a webhook is signed with a secret; give exactly one "
            "of secretRef or secretFile",
        ),
        (
            "notifications:\n  providers:\n    - name: x\n      type: slack\n"
            "      url: https://a.test\n      events: [synced]\n",
            "notify.yaml:6: provider x: unknown event 'synced' (sync-succeeded, sync-failed, "
            "health-degraded, health-recovered, drift-detected, drift-corrected, fighting, "
            "commit-refused)",
        ),
        (
            "notifications:\n  providers:\n    - name: x\n      type: slack\n"
            "      url: https://a.test\n      colour: red\n",
            "notify.yaml:6: notifications.providers.0: Additional properties are not allowed "
            "('colour' was unexpected)",
        ),
        (
            "notifications:\n  providers:\n    - name: x\n      type: webhook\n"
            "      url: https://a.test\n      secretFile: missing.key\n",
            "notify.yaml:6: provider x: secret file missing.key does not exist",
        ),
    ],
)
def test_bad_input_is_one_line_naming_file_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path)
    assert str(caught.value) == expected


def test_a_slack_url_may_come_from_a_secret_but_not_from_two_places(tmp_path: Path) -> None:
    head = "notifications:\n  providers:\n    - name: chat\n      type: slack\n"
    text = head + "      secretRef: {name: chat-hook, key: url}\n"
    (chat,) = parse_notifications(text, filename="notify.yaml", base=tmp_path).providers
    assert (chat.url, chat.secret_ref) == ("", SecretRef(name="chat-hook", key="url"))
    with pytest.raises(ConfigError) as caught:
        parse(
            head + "      url: https://hooks.test/x\n      secretRef: {name: chat-hook}\n", tmp_path
        )
    assert str(caught.value) == (
        "notify.yaml:5: provider chat: give the incoming webhook's url or a "
        "secretRef/secretFile holding it, not both"
    )
    with pytest.raises(ConfigError, match=r"^notify.yaml:3: provider chat: no url$"):
        parse(head, tmp_path)


def test_a_secret_file_is_found_beside_the_settings(tmp_path: Path) -> None:
    (tmp_path / "hmac.key").write_text("s3cret\n")
    path = tmp_path / "notify.yaml"
    path.write_text(
        "notifications:\n  providers:\n    - name: x\n      type: webhook\n"
        "      url: http://127.0.0.1:9/x\n      secretFile: hmac.key\n"
    )
    (provider,) = load_notifications(str(path)).providers
    assert provider.secret_file == (tmp_path / "hmac.key").resolve()


def test_a_forge_provider_needs_the_controllers_forge(tmp_path: Path) -> None:
    path = tmp_path / "notify.yaml"
    path.write_text("notifications:\n  providers:\n    - name: commits\n      type: forge\n")
    with pytest.raises(ConfigError, match=r"notify.yaml:3: provider commits: .*--forge-url"):
        load_settings(str(path), forge_url="")
    assert load_settings(str(path), forge_url="https://forge.test").providers


def test_no_file_means_no_notifications() -> None:
    assert not load_settings(None, forge_url="").any

"""Notifications from a real controller to a receiver on 127.0.0.1: signed, and once each,
across a restart and a SIGKILL failover, and after a receiver that failed recovers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import signal
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.forgekit import (
    Forge,
    all_statuses,
    statuses,
)
from tests.e2e.forgekit import (
    start_controller as start_forge_controller,
)
from tests.e2e.helpers import SETTINGS, ConfigRepo, gitward, one_app, run_git
from tests.e2e.receiver import Receiver, receiving
from tests.e2e.test_controller import RunningController, eventually, start_controller
from tests.e2e.test_promote import (  # the forge fixtures: a config repo of charts built by CI
    Setup,
    annotated_charts,
    revision_of,
    setup,
)
from tests.signing import SshKey, commit

HMAC = b"e2e-notify-secret"

pytestmark = pytest.mark.e2e
__all__ = ["annotated_charts", "setup"]  # fixtures, used by name


def settings_file(tmp_path: Path, receiver: Receiver, secret: str, app: str) -> Path:
    path = tmp_path / "notifications.yaml"
    path.write_text(
        "notifications:\n"
        "  retry: {initialDelay: 0.2, maxDelay: 1, giveUpAfter: 120}\n"
        "  providers:\n"
        "    - name: hook\n"
        "      type: webhook\n"
        f"      url: {receiver.url}\n"
        f"      secretRef: {{name: {secret}, key: hmac}}\n"
        f"      apps: [{app}]\n"
        "      events: [sync-succeeded, sync-failed]\n"
    )
    return path


def delivered_per_revision(receiver: Receiver) -> Counter[str]:
    return Counter(r.doc["revision"] for r in receiver.delivered())


def test_each_sync_is_told_once_across_a_restart_a_failover_and_a_failing_receiver(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    secret = f"notify-{namespace}"
    # The records namespace: the controller makes it with its first record, after the Secret.
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gitward-system"}})
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": secret, "namespace": "gitward-system"},
            "data": {"hmac": base64.b64encode(HMAC).decode()},
        }
    )
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, autoSync=True)
    repo.write("app/settings.yaml", SETTINGS.format("blue"))
    first = repo.commit("blue")
    lease = f"lease-notify-{namespace}"
    running: list[RunningController] = []

    def start(name: str) -> RunningController:
        c = start_controller(
            repo,
            tmp_path,
            leader_election=True,
            name=name,
            lease=lease,
            extra_args=("--notifications", str(path)),
        )
        running.append(c)
        return c

    with receiving() as receiver:
        path = settings_file(tmp_path, receiver, secret, app_name)
        try:
            # The receiver fails three times, then takes the message: it arrives once.
            receiver.fail_next = 3
            a = start("a")
            eventually(receiver.delivered, timeout=30, what="the first notification")
            (got,) = receiver.delivered()
            assert [r.answered for r in receiver.requests] == [500, 500, 500, 200]
            assert {r.headers["X-Gitward-Delivery"] for r in receiver.requests} == {
                got.headers["X-Gitward-Delivery"]
            }
            signed = "sha256=" + hmac.new(HMAC, got.body, hashlib.sha256).hexdigest()
            assert got.headers["X-Gitward-Signature-256"] == signed
            doc = got.doc
            assert (doc["event"], doc["app"], doc["revision"]) == (
                "sync-succeeded",
                app_name,
                first,
            )
            assert doc["id"] == got.headers["X-Gitward-Delivery"]
            assert doc["appUrl"].endswith(f"/api/v1/apps/{app_name}")

            # A restart syncs the same revision again: no news.
            a.proc.send_signal(signal.SIGTERM)
            assert a.proc.wait(timeout=30) == 0
            a2 = start("a2")
            eventually(lambda: a2.app(app_name).get("sync") == "Synced", what="a2 leads")
            b = start("b")  # the standby

            # The receiver goes down while the next commit is delivered, and the leader
            # is killed with the delivery pending: the standby finishes it.
            receiver.failing = True
            repo.write("app/settings.yaml", SETTINGS.format("green"))
            second = repo.commit("green")
            eventually(
                lambda: any(r.doc["revision"] == second for r in receiver.requests),
                timeout=30,
                what="a2 trying to deliver the second sync",
            )
            a2.proc.send_signal(signal.SIGKILL)
            a2.proc.wait()
            # What the dead leader had on the wire is answered 500 too: a message a
            # receiver accepted from a sender that died before it heard back is the one
            # case delivered twice (README: Notifications), not what this test is about.
            receiver.quiet(1.0)
            receiver.failing = False
            eventually(
                lambda: delivered_per_revision(receiver)[second],
                timeout=30,
                what="the standby delivering what the killed leader left pending",
            )
            eventually(lambda: b.app(app_name).get("revision") == second, what="b synced")
            # b's own first sync of that revision, and a last poll, are no news either.
            time.sleep(2.0)
            assert delivered_per_revision(receiver) == {first: 1, second: 1}
            metrics = httpx.get(b.url + "/metrics", timeout=5).text
            assert 'gitward_notifications_sent_total{event="sync-succeeded",provider="hook"}' in (
                metrics
            )
        finally:
            for c in running:
                c.stop()
            cluster.delete("coordination.k8s.io/v1", "Lease", lease, "gitward-system")
            cluster.delete("v1", "Secret", secret, "gitward-system")
            cluster.delete("v1", "ConfigMap", f"gitward-notify-{app_name}", "gitward-system")


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        (
            "    - name: x\n      type: teams\n      url: https://teams.test/x\n",
            ":4: provider x: unknown provider type 'teams'",
        ),
        (
            "    - name: x\n      type: slack\n      url: hooks.slack.test/x\n",
            ":5: provider x: url 'hooks.slack.test/x' has no scheme",
        ),
        (
            "    - name: x\n      type: webhook\n      url: http://127.0.0.1:9/x\n"
            "      secretRef: {name: no-such-secret}\n",
            ":3: provider x: Secret gitward-system/no-such-secret not found",
        ),
    ],
)
def test_bad_notification_settings_stop_the_controller_with_exit_2_naming_file_and_line(
    cluster: Cluster, tmp_path: Path, provider: str, message: str
) -> None:
    path = tmp_path / "notifications.yaml"
    path.write_text("notifications:\n  providers:\n" + provider)
    proc = gitward(
        "controller", "--repo", str(tmp_path), "--notifications", str(path),
        "--listen", "127.0.0.1:1",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line == f"error: {path}{message}" or line.startswith(f"error: {path}{message}"), line


def test_a_slack_compatible_room_hears_of_a_hand_edit_put_back_and_a_refused_commit(
    cluster: Cluster, tmp_path: Path, git_env: dict[str, str], namespace: str, app_name: str
) -> None:
    alice = SshKey(tmp_path / "ssh", "alice")
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    (trusted / "allowed_signers").write_text(alice.allowed_signer("alice@example.com"))
    repo = ConfigRepo(tmp_path / "config")
    one_app(repo, app_name, namespace, autoSync=True, selfHeal=True)
    repo.write("app/settings.yaml", SETTINGS.format("blue"))
    signed = commit(repo.path, "signed", signer=alice)
    with receiving() as room:
        path = tmp_path / "notifications.yaml"
        path.write_text(
            "notifications:\n  providers:\n    - name: room\n      type: slack\n"
            f"      url: {room.url}\n"
            "      events: [drift-detected, drift-corrected, commit-refused]\n"
        )
        args = ("--verify", "head", "--trusted-keys", str(trusted), "--notifications", str(path))
        running = start_controller(repo, tmp_path, extra_args=args)
        try:
            eventually(lambda: running.app(app_name)["sync"] == "Synced", what="first sync")
            cluster.apply(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "settings", "namespace": namespace},
                    "data": {"colour": "hand-edited"},
                },
                field_manager="kubectl-edit",
                force=True,
            )
            eventually(lambda: len(room.delivered()) >= 2, what="drift told")
            repo.write("app/settings.yaml", SETTINGS.format("evil"))
            unsigned = commit(repo.path, "unsigned")
            eventually(lambda: len(room.delivered()) >= 3, what="the refusal told")
            # Polls every second find the same refused head: no news.
            time.sleep(2.0)
        finally:
            running.stop()
    texts = [r.doc["text"] for r in room.delivered()]
    assert len(texts) == 3, texts
    assert texts[0].startswith(f"app {app_name}: drift detected at {signed[:12]}: modified by")
    assert texts[1].startswith(f"app {app_name}: drift corrected at {signed[:12]}")
    assert texts[2].startswith(f"repository: commit refused at {unsigned[:12]}: commit ")
    for r in room.delivered():
        assert [b["type"] for b in r.doc["blocks"]] == ["section", "context"]
        assert "X-Gitward-Signature-256" not in r.headers


def test_on_the_forge_a_sync_is_a_commit_status_and_the_payload_links_both_commits(
    forge: Forge, setup: Setup, tmp_path: Path
) -> None:
    (tmp_path / "hmac.key").write_text(HMAC.decode())
    with receiving() as receiver:
        path = tmp_path / "notifications.yaml"
        path.write_text(
            "notifications:\n  providers:\n"
            "    - name: commits\n      type: forge\n"
            "      events: [sync-succeeded, sync-failed]\n"
            "    - name: hook\n      type: webhook\n"
            f"      url: {receiver.url}\n      secretFile: hmac.key\n"
            "      apps: [shop-prod]\n      events: [sync-succeeded]\n"
        )
        running = start_forge_controller(
            forge, setup.repo, tmp_path, extra_args=("--notifications", str(path))
        )
        try:
            head = run_git(setup.clone, "rev-parse", "HEAD")
            eventually(
                lambda: statuses(forge, setup.repo, head).get("gitward/sync/shop-prod"),
                timeout=60,
                what="gitward/sync/shop-prod on the head",
            )
            eventually(receiver.delivered, what="the webhook")
            time.sleep(3)  # polls and reconciles go on; nothing is sent twice
        finally:
            running.stop()
    sent = [
        s["status"]
        for s in all_statuses(forge, setup.repo, head)
        if s["context"] == "gitward/sync/shop-prod"
    ]
    assert sent == ["success"]
    (got,) = receiver.delivered()
    signed = "sha256=" + hmac.new(HMAC, got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Gitward-Signature-256"] == signed
    doc = got.doc
    assert doc["revisionUrl"] == f"{forge.url}/{setup.repo.path}/commit/{head}"
    # The link is the page the forge itself gives for that commit.
    with forge.api(forge.reviewer) as api:
        commit_page = api.get(f"/repos/{setup.repo.path}/git/commits/{head}").json()["html_url"]
    assert doc["revisionUrl"] == commit_page
    # The chart names the code commit it was built from (an http:// code repository
    # is on no forge gitward knows how to link).
    assert doc["charts"] == [
        {"name": "web", "version": "0.1.0", "commit": revision_of("0.1.0"), "commitUrl": ""}
    ]

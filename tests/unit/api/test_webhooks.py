"""Webhook verification per forge, with recorded-shape payloads from ``payloads/``."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest

from gitward.api.webhooks import VERIFIERS, EventKind, WebhookEvent

PAYLOADS = Path(__file__).resolve().parent / "payloads"
FORGE_WEBHOOKS = Path(__file__).resolve().parents[2] / "fixtures" / "forge" / "webhooks"
SECRET = "It's a Secret to Everybody"
PUSHED = "df20a0eb1e27dd681c4c2777b8831a4e1e73695c"
MERGED = "e9c86d43ed70000b287552b608f75d171baea741"
HMAC_FORGES = ("github", "gitea", "bitbucket", "generic")


def payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def hexmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(forge: str, event: str, body: bytes, secret: str = SECRET) -> dict[str, str]:
    """The headers ``forge`` sends with ``body`` for ``event``, signed with ``secret``."""
    common = {"Content-Type": "application/json", "Content-Length": str(len(body))}
    if forge == "github":
        return common | {
            "User-Agent": "GitHub-Hookshot/2b0a5f6",
            "X-GitHub-Delivery": "5b1d5a50-11b9-11ef-8f7e-8b0d32c1bc0e",
            "X-GitHub-Event": event,
            "X-Hub-Signature-256": f"sha256={hexmac(secret, body)}",
        }
    if forge == "gitlab":
        return common | {
            "User-Agent": "GitLab/16.11.1",
            "X-Gitlab-Event": event,
            "X-Gitlab-Token": secret,
            "X-Gitlab-Instance": "https://gitlab.example.com",
        }
    if forge == "gitea":
        return common | {
            "X-Gitea-Delivery": "0c0e5a59-5f0d-4bde-a4f4-6b8e5d0e0d0a",
            "X-Gitea-Event": event,
            "X-Gitea-Signature": hexmac(secret, body),
        }
    if forge == "bitbucket":
        return common | {
            "X-Event-Key": event,
            "X-Request-Id": "1b0c8c2f-3d2e-4f3e-9a53-3a5f1d0e2c11",
            "X-Hub-Signature": f"sha256={hexmac(secret, body)}",
        }
    assert forge == "generic"
    return common | {"X-Gitward-Signature": f"sha256={hexmac(secret, body)}"}


#: forge, event header, payload file, and the kind of event it is.
CASES = [
    ("github", "push", "github-push", "push"),
    ("github", "pull_request", "github-pull-request-merged", "merge"),
    ("gitlab", "Push Hook", "gitlab-push", "push"),
    ("gitlab", "Merge Request Hook", "gitlab-merge-request-merged", "merge"),
    ("gitea", "push", "gitea-push", "push"),
    ("gitea", "pull_request", "gitea-pull-request-merged", "merge"),
    ("bitbucket", "repo:refs_changed", "bitbucket-refs-changed", "push"),
    ("bitbucket", "pr:merged", "bitbucket-pr-merged", "merge"),
    ("generic", "", "generic-push", "push"),
]
CASE_IDS = [name for _, _, name, _ in CASES]


@pytest.mark.parametrize(("forge", "event", "name", "kind"), CASES, ids=CASE_IDS)
def test_each_forge_accepts_a_correctly_signed_payload(
    forge: str, event: str, name: str, kind: EventKind
) -> None:
    body = payload(name)
    after = PUSHED if kind == "push" else MERGED
    assert VERIFIERS[forge](signed(forge, event, body), body, SECRET) == WebhookEvent(
        forge, kind, "refs/heads/main", after
    )


@pytest.mark.parametrize(("forge", "event", "name", "kind"), CASES, ids=CASE_IDS)
def test_each_forge_rejects_a_payload_signed_with_another_secret(
    forge: str, event: str, name: str, kind: EventKind
) -> None:
    body = payload(name)
    headers = signed(forge, event, body, secret="not the secret")
    assert VERIFIERS[forge](headers, body, SECRET) is None


@pytest.mark.parametrize("forge", HMAC_FORGES)
def test_each_signing_forge_rejects_a_body_changed_after_signing(forge: str) -> None:
    body = payload("github-push")
    headers = signed(forge, "push", body)
    tampered = body.replace(PUSHED.encode(), MERGED.encode())
    assert VERIFIERS[forge](headers, tampered, SECRET) is None


@pytest.mark.parametrize(
    ("forge", "header"),
    [
        ("github", "X-Hub-Signature-256"),
        ("gitlab", "X-Gitlab-Token"),
        ("gitea", "X-Gitea-Signature"),
        ("bitbucket", "X-Hub-Signature"),
        ("generic", "X-Gitward-Signature"),
    ],
)
def test_each_forge_rejects_a_request_without_its_signature_header(forge: str, header: str) -> None:
    body = payload("github-push")
    headers = signed(forge, "push", body)
    del headers[header]
    assert VERIFIERS[forge](headers, body, SECRET) is None


@pytest.mark.parametrize("forge", sorted(VERIFIERS))
def test_an_empty_secret_verifies_nothing(forge: str) -> None:
    body = payload("github-push")
    headers = signed(forge, "push", body, secret="") | {"Authorization": "Bearer "}
    assert VERIFIERS[forge](headers, body, "") is None


@pytest.mark.parametrize("forge", sorted(VERIFIERS))
def test_header_names_match_in_any_case(forge: str) -> None:
    body = payload("github-push")
    headers = signed(forge, "push", body)
    assert VERIFIERS[forge]({k.lower(): v for k, v in headers.items()}, body, SECRET)
    assert VERIFIERS[forge]({k.upper(): v for k, v in headers.items()}, body, SECRET)


@pytest.mark.parametrize("forge", sorted(VERIFIERS))
def test_a_verified_body_that_is_not_a_json_object_is_other(forge: str) -> None:
    event = {"github": "push", "gitlab": "Push Hook", "gitea": "push"}.get(forge, "")
    event = event or {"bitbucket": "repo:refs_changed"}.get(forge, "")
    for body in (b"{not json", b"[1, 2]", b"\xff\xfe", b"[" * 100_000):
        assert VERIFIERS[forge](signed(forge, event, body), body, SECRET) == WebhookEvent(
            forge, "other"
        )


def test_an_unmerged_closed_pull_request_is_other() -> None:
    doc = json.loads(payload("github-pull-request-merged"))
    doc["pull_request"]["merged"] = False
    body = json.dumps(doc).encode()
    event = VERIFIERS["github"](signed("github", "pull_request", body), body, SECRET)
    assert event == WebhookEvent("github", "other")


def test_an_opened_merge_request_asks_for_a_preview_not_a_fetch() -> None:
    doc = json.loads(payload("gitlab-merge-request-merged"))
    doc["object_attributes"].update(state="opened", action="open")
    body = json.dumps(doc).encode()
    event = VERIFIERS["gitlab"](signed("gitlab", "Merge Request Hook", body), body, SECRET)
    assert event is not None and event.kind == "pull_request"
    assert event.pull is not None and event.pull.number == doc["object_attributes"]["iid"]
    assert event.pull.head_sha == doc["object_attributes"]["last_commit"]["id"]


def test_a_merge_request_closed_unmerged_is_other() -> None:
    doc = json.loads(payload("gitlab-merge-request-merged"))
    doc["object_attributes"].update(state="closed", action="close")
    body = json.dumps(doc).encode()
    event = VERIFIERS["gitlab"](signed("gitlab", "Merge Request Hook", body), body, SECRET)
    assert event == WebhookEvent("gitlab", "other")


@pytest.mark.parametrize(
    ("forge", "fixture"), [("github", "github_synchronize"), ("gitea", "gitea_synchronized")]
)
def test_a_signed_push_to_a_pull_request_asks_for_a_preview(forge: str, fixture: str) -> None:
    recorded = json.loads((FORGE_WEBHOOKS / f"{fixture}.json").read_text())
    body = json.dumps(recorded["body"]).encode()
    headers = {**recorded["headers"], **signed(forge, "pull_request", body)}
    event = VERIFIERS[forge](headers, body, SECRET)
    assert event is not None and event.kind == "pull_request" and event.pull is not None
    assert (event.pull.number, event.pull.base) == (7, "main")


@pytest.mark.parametrize("forge", ["github", "gitea"])
def test_a_forged_pull_request_event_triggers_nothing(forge: str) -> None:
    recorded = json.loads((FORGE_WEBHOOKS / "github_opened.json").read_text())
    body = json.dumps(recorded["body"]).encode()
    headers = {**recorded["headers"], **signed(forge, "pull_request", body, secret="not-it")}
    assert VERIFIERS[forge](headers, body, SECRET) is None


def test_a_github_ping_is_other() -> None:
    body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    assert VERIFIERS["github"](signed("github", "ping", body), body, SECRET) == WebhookEvent(
        "github", "other"
    )


def test_a_deleted_branch_is_a_push_without_a_commit() -> None:
    doc = json.loads(payload("github-push"))
    doc.update(ref="refs/heads/old", after="0" * 40, deleted=True, commits=[])
    body = json.dumps(doc).encode()
    event = VERIFIERS["github"](signed("github", "push", body), body, SECRET)
    assert event == WebhookEvent("github", "push", "refs/heads/old", None)


def test_a_gitlab_tag_push_is_a_push_of_the_tag() -> None:
    doc = json.loads(payload("gitlab-push"))
    doc.update(object_kind="tag_push", ref="refs/tags/v1.4.0")
    body = json.dumps(doc).encode()
    event = VERIFIERS["gitlab"](signed("gitlab", "Tag Push Hook", body), body, SECRET)
    assert event == WebhookEvent("gitlab", "push", "refs/tags/v1.4.0", PUSHED)


def test_gitea_accepts_forgejo_headers() -> None:
    body = payload("gitea-push")
    headers = {"X-Forgejo-Event": "push", "X-Forgejo-Signature": hexmac(SECRET, body)}
    assert VERIFIERS["gitea"](headers, body, SECRET) == WebhookEvent(
        "gitea", "push", "refs/heads/main", PUSHED
    )


def test_a_gitlab_token_with_other_characters_is_rejected_not_an_error() -> None:
    body = payload("gitlab-push")
    headers = signed("gitlab", "Push Hook", body) | {"X-Gitlab-Token": "s\u00e9cret\u2603"}
    assert VERIFIERS["gitlab"](headers, body, SECRET) is None


def test_generic_accepts_a_bearer_token_and_an_empty_body() -> None:
    event = VERIFIERS["generic"]({"authorization": f"Bearer {SECRET}"}, b"", SECRET)
    assert event == WebhookEvent("generic", "push")


def test_generic_turns_a_branch_name_into_a_full_ref() -> None:
    body = b'{"ref": "release"}'
    event = VERIFIERS["generic"]({"Authorization": f"bearer {SECRET}"}, body, SECRET)
    assert event == WebhookEvent("generic", "push", "refs/heads/release")


@pytest.mark.parametrize("authorization", [f"Bearer {SECRET}x", "Bearer", f"Basic {SECRET}", ""])
def test_generic_rejects_a_wrong_authorization(authorization: str) -> None:
    assert VERIFIERS["generic"]({"Authorization": authorization}, b"", SECRET) is None


def test_every_forge_has_a_verifier() -> None:
    assert set(VERIFIERS) == {"github", "gitlab", "gitea", "bitbucket", "generic"}

"""What the UI computes before any HTML: diffs, the tree, filters and commit links."""

from __future__ import annotations

import copy

from gitward.objects import Body, ObjectRef
from gitward.web.diffs import DiffCache, object_diff, project
from gitward.web.protocols import ObjectState
from gitward.web.tree import build_tree
from gitward.web.views import Filters, commit_url


def configmap(**data: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": data,
    }


def state(desired: Body, live: Body | None, ignore: tuple[str, ...] = ()) -> ObjectState:
    return ObjectState(ObjectRef.of(desired), desired["apiVersion"], desired, live, ignore)


def test_fields_only_the_cluster_sets_are_not_a_difference() -> None:
    desired = configmap(a="1")
    live = copy.deepcopy(desired)
    live["metadata"] |= {"uid": "u", "resourceVersion": "7", "labels": {"added": "by-hand"}}
    live["status"] = {"x": 1}

    assert project(live, desired) == desired
    assert object_diff(state(desired, live)).state == "same"


def test_changes_far_apart_stay_separate_blocks_with_their_own_anchors() -> None:
    keys = {f"k{i:02}": "same" for i in range(30)}
    desired = configmap(**keys)
    live = configmap(**(keys | {"k00": "hand", "k29": "hand"}))

    diff = object_diff(state(desired, live))

    assert diff.state == "changed"
    assert diff.paths == ("data.k00", "data.k29")
    assert len(diff.hunks) == 2
    blocks = [line.block for hunk in diff.hunks for line in hunk.lines if line.block]
    assert blocks == [1, 2]


def test_changes_close_together_share_a_hunk_but_not_a_block() -> None:
    keys = {f"k{i:02}": "same" for i in range(10)}
    desired = configmap(**keys)
    live = configmap(**(keys | {"k02": "hand", "k05": "hand"}))

    diff = object_diff(state(desired, live))

    assert len(diff.hunks) == 1
    lines = diff.hunks[0].lines
    assert [line.block for line in lines if line.block] == [1, 2]
    between = lines[next(i for i, line in enumerate(lines) if line.block == 2) - 1]
    assert between.kind == "same", "an unchanged line stays between two changes"


def test_secret_values_never_reach_the_diff_text() -> None:
    desired: Body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "data": {"password": "Z2l0", "user": "YWRtaW4="},
    }
    live = copy.deepcopy(desired)
    live["data"]["password"] = "aGFuZA=="

    diff = object_diff(state(desired, live))
    text = "\n".join(line.text for hunk in diff.hunks for line in hunk.lines)

    assert "<masked> (old)" in text and "<masked> (new)" in text
    for value in ("Z2l0", "aGFuZA==", "YWRtaW4="):
        assert value not in text
    assert diff.paths == ("data.password",)


def test_ignored_pointers_stay_out_of_the_diff() -> None:
    desired = configmap(a="1", b="1")
    live = configmap(a="1", b="2")

    assert object_diff(state(desired, live, ("/data/b",))).state == "same"


def test_an_object_missing_from_the_cluster_shows_whole() -> None:
    diff = object_diff(state(configmap(a="1"), None))

    assert diff.state == "missing"
    assert diff.removed == 0 and diff.added > 0


def test_a_diff_is_made_again_only_when_a_body_is_replaced() -> None:
    desired, live = configmap(a="1"), configmap(a="2")
    cache = DiffCache(max_entries=1)
    first = cache.of(state(desired, live))
    assert first.state == "changed"
    assert cache.of(state(desired, live)) is first, "the same bodies: the same diff"
    healed = configmap(a="1")
    assert cache.of(state(desired, healed)).state == "same", "a new live body: a new diff"
    assert cache.of(state(desired, healed, ignore=("/data/a",))).state == "same"
    other = configmap(b="1") | {"metadata": {"name": "other", "namespace": "shop"}}
    cache.of(state(other, None))
    assert cache.of(state(desired, healed)) is not first, "evicted past max_entries"


def test_side_by_side_pairs_each_removed_line_with_its_replacement() -> None:
    desired = configmap(a="git", b="same")
    live = configmap(a="hand", b="same")

    rows = object_diff(state(desired, live)).hunks[0].rows
    changed = [r for r in rows if r.left is not r.right]

    assert len(changed) == 1
    assert changed[0].left is not None and changed[0].left.text.strip() == "a: hand"
    assert changed[0].right is not None and changed[0].right.text.strip() == "a: git"


def owned(kind: str, name: str, uid: str, owner_uid: str) -> Body:
    return {
        "apiVersion": "v1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": uid,
            "ownerReferences": [{"uid": owner_uid, "kind": "x", "name": "x"}],
        },
    }


def test_the_tree_follows_owner_references_and_leaves_strangers_out() -> None:
    desired: Body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 1},
    }
    live = copy.deepcopy(desired)
    live["metadata"]["uid"] = "d1"
    cluster = [
        owned("ReplicaSet", "web-1", "r1", "d1"),
        owned("Pod", "web-1-a", "p1", "r1"),
        owned("Pod", "web-1-b", "p2", "r1"),
        owned("Pod", "stranger", "p3", "someone-else"),
    ]

    (root,) = build_tree([state(desired, live)], cluster)

    assert (root.kind, root.managed) == ("Deployment", True)
    (replicaset,) = root.children
    assert replicaset.name == "web-1" and not replicaset.managed
    assert [p.name for p in replicaset.children] == ["web-1-a", "web-1-b"]


def test_a_missing_object_is_a_root_with_its_health_and_reason() -> None:
    (root,) = build_tree([state(configmap(a="1"), None)], [])

    assert root.health == "Missing" and root.children == ()


def test_filters_keep_by_name_sync_and_health_and_ignore_unknown_values() -> None:
    apps = [
        {"name": "shop", "sync": "OutOfSync", "health": "Healthy"},
        {"name": "infra", "sync": "Synced", "health": "Degraded"},
    ]

    def kept(**query: str) -> list[str]:
        filters = Filters.of(query)
        return [a["name"] for a in apps if filters.keeps(a)]

    assert kept(q="SH") == ["shop"]
    assert kept(sync="Synced") == ["infra"]
    assert kept(health="Degraded") == ["infra"]
    assert kept(sync="<script>") == ["shop", "infra"]


def test_commit_links_only_for_forges_over_https() -> None:
    sha = "a" * 40
    assert commit_url("https://github.com/o/r.git", sha) == f"https://github.com/o/r/commit/{sha}"
    assert commit_url("https://gitlab.com/g/r", sha) == f"https://gitlab.com/g/r/-/commit/{sha}"
    assert commit_url("file:///tmp/config", sha) == ""
    assert commit_url("git@github.com:o/r.git", sha) == ""
    assert commit_url("https://github.com/o/r.git", "not-a-sha") == ""


def test_a_fragment_is_drawn_once_per_key_and_again_without_one() -> None:
    import jinja2

    from gitward.web.fragments import Fragments

    drawn: list[str] = []

    def note(value: str) -> str:
        drawn.append(value)
        return ""

    env = jinja2.Environment(autoescape=True)
    env.globals["note"] = note
    fragments = Fragments(env.from_string("{{ note(v) }}<b>{{ v }}</b>"), max_entries=1)
    assert fragments.render("a", v="<a>") == "<b>&lt;a&gt;</b>"
    assert fragments.render("a", v="<a>") == "<b>&lt;a&gt;</b>"
    fragments.render(None, v="n")
    fragments.render(None, v="n")
    fragments.render("b", v="b")
    fragments.render("a", v="a2")
    assert drawn == ["<a>", "n", "n", "b", "a2"], "a key past max_entries is drawn again"


def test_a_result_is_kept_per_body_object_not_per_equal_body() -> None:
    from gitward.web.memo import ByBody

    seen: list[object] = []

    def count(body: object) -> int:
        seen.append(body)
        return len(seen)

    memo = ByBody(count)
    body = configmap(a="1")
    body["metadata"]["uid"] = "u1"
    assert memo(body) == memo(body) == 1
    newer = copy.deepcopy(body)
    assert memo(newer) == 2, "an equal but new body is computed again"
    assert memo(body) == 3, "and replaces the old one: one entry per object"
    assert memo(None) == 4 and memo(None) == 5, "no body: never kept"
    assert len(memo._kept) == 1

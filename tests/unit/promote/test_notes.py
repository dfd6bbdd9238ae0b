"""What a promotion pull request says: versions, code commits, the live diff."""

from __future__ import annotations

from gitward.objects import ObjectRef
from gitward.plan.model import Action, ObjectError, Plan, PlannedObject
from gitward.plan.order import SortKey
from gitward.promote import notes
from gitward.promote.bumping import Bump
from gitward.review.markdown import MAX_DIFF_LINES, AppPreview, previews_markdown

REF = ObjectRef(group="apps", kind="Deployment", namespace="shop", name="web")


def planned(action: Action, diff: str = "") -> PlannedObject:
    return PlannedObject(
        ref=REF,
        api_version="apps/v1",
        action=action,
        source="web.yaml",
        sort_key=SortKey(1, 2, 0, 0, "Deployment", "shop", "web"),
        diff=diff,
    )


def test_code_changes_link_the_comparison_and_list_commits_down_to_the_old_revision() -> None:
    old = {
        "gitward.io/commit": "a" * 40,
        "gitward.io/source": "http://127.0.0.1:3000/acme/code.git",
    }
    new = {
        "gitward.io/commit": "c" * 40,
        "gitward.io/source": "http://127.0.0.1:3000/acme/code.git",
        "gitward.io/commits": "\n".join(
            [f"{'c' * 40} Faster search", f"{'b' * 40} Fix the cart", f"{'a' * 40} Older"]
        ),
    }
    lines = notes.code_changes(old, new)
    text = "\n".join(lines)
    assert f"http://127.0.0.1:3000/acme/code/compare/{'a' * 40}...{'c' * 40}" in text
    assert "Faster search" in text and "Fix the cart" in text
    assert "Older" not in text


def test_oci_annotations_serve_when_gitward_s_are_absent() -> None:
    new = {"org.opencontainers.image.revision": "d" * 40}
    assert "dddddddddddd" in "\n".join(notes.code_changes({}, new))


def test_a_chart_that_does_not_say_its_commit_is_said_so() -> None:
    assert "does not say which code commit" in notes.code_changes({}, {})[0]


def test_the_body_names_old_and_new_versions_and_the_marker() -> None:
    bump = Bump(
        app="shop",
        environment="prod",
        file="apps/shop/requirements.yaml",
        old="1.3.0",
        new="1.4.0",
        old_image="1.3.0",
        new_image="1.4.0",
    )
    preview = AppPreview(
        app="shop", plan=Plan(app="shop", objects=(planned(Action.UPDATE, "-a\n+b"),))
    )
    body = notes.body(
        chart="xposer", version="1.4.0", environments=("prod",), bumps=[bump], previews=[preview]
    )
    assert notes.marker("xposer", ("prod",)) in body
    assert "| `shop` | prod | `apps/shop/requirements.yaml` | `1.3.0` | `1.4.0` |" in body
    assert "0 to create, 1 to change, 0 to prune" in body
    assert "```diff\n-a\n+b\n```" in body
    assert notes.title("xposer", "1.4.0", ("prod",)) == "Promote xposer to 1.4.0 in prod"


def test_a_long_diff_is_cut_and_says_so() -> None:
    diff = "\n".join(f"+line {i}" for i in range(MAX_DIFF_LINES + 7))
    text = previews_markdown(
        [AppPreview("shop", Plan(app="shop", objects=(planned(Action.UPDATE, diff),)))]
    )
    assert "... 7 more lines" in text
    assert f"+line {MAX_DIFF_LINES + 1}" not in text


def test_plan_errors_show_as_gitward_diff_shows_them() -> None:
    error = ObjectError(ref=REF, source="web.yaml", message="spec.replicas: Invalid value")
    preview = AppPreview("shop", Plan(app="shop", objects=(), errors=(error,)))
    assert preview.failed
    assert preview.first_error == f"app shop: {error}"
    assert str(error) in previews_markdown([preview])
    assert AppPreview("shop", error="chart web version 9 not found in oci://r").summary() == (
        "error: chart web version 9 not found in oci://r"
    )


def test_the_running_version_is_read_from_history_entries_with_or_without_their_commit() -> None:
    from gitward.promote.promoting import _chart_version

    charts = ("worker@0.1.0", "web@0.2.0 (commit 020ccccccccc)")
    assert _chart_version(charts, "web") == "0.2.0"
    assert _chart_version(charts, "worker") == "0.1.0"
    assert _chart_version(charts, "db") is None

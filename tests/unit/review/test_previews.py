"""The preview comment and the gitward/preview status."""

from __future__ import annotations

from gitward.forge import CommitState
from gitward.plan.model import ObjectError, Plan
from gitward.review import previews
from gitward.review.markdown import AppPreview


def test_a_failing_app_fails_the_status_with_its_first_error_on_one_line() -> None:
    bad = AppPreview("shop", error="apps/shop/Chart.yaml: dependencies must be a list\nmore")
    status = previews.outcome([AppPreview("infra", plan=Plan(app="infra", objects=())), bad])
    assert status.state is CommitState.FAILURE
    assert status.description == "apps/shop/Chart.yaml: dependencies must be a list more"
    assert status.context == "gitward/preview"


def test_a_clean_plan_succeeds_with_counts() -> None:
    status = previews.outcome([AppPreview("infra", plan=Plan(app="infra", objects=()))])
    assert (status.state, status.description) == (
        CommitState.SUCCESS,
        "1 app(s) planned, 0 would change",
    )


def test_the_comment_names_the_head_and_each_app() -> None:
    error = ObjectError(ref=None, source="x.yaml", message="boom")
    text = previews.comment(
        head_sha="a" * 40, previews=[AppPreview("shop", plan=Plan("shop", (), errors=(error,)))]
    )
    assert "`aaaaaaaaaaaa`" in text and "| `shop` | error: app shop: x.yaml: boom |" in text
    assert "No app affected" in previews.comment(head_sha="a" * 40, previews=[])
    assert previews.no_app_affected().description == "no app affected"

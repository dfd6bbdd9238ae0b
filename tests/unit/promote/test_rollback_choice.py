"""Which recorded sync a rollback returns to, and which files it restores."""

from __future__ import annotations

import pytest

from gitward.config.apps import AppSpec
from gitward.promote.errors import PromoteInputError
from gitward.promote.rollback import app_paths, choose
from gitward.record.history import SyncOutcome, SyncRecord


def record(revision: str, result: SyncOutcome = SyncOutcome.SUCCEEDED) -> SyncRecord:
    return SyncRecord(
        app="shop",
        revision=revision,
        ref="main",
        author="a",
        subject="s",
        started_at="2026-12-02T10:00:00Z",
        duration_seconds=1.0,
        result=result,
    )


# Newest first, as the history keeps them.
HISTORY = [
    record("c" * 40),
    record("f" * 40, SyncOutcome.FAILED),
    record("c" * 40),
    record("b" * 40),
    record("a" * 40),
]


def test_one_step_back_is_the_previous_successful_revision() -> None:
    current, target = choose(HISTORY, app="shop", to="", steps=1)
    assert current.revision == "c" * 40
    assert target.revision == "b" * 40


def test_steps_count_revisions_not_syncs() -> None:
    assert choose(HISTORY, app="shop", to="", steps=2)[1].revision == "a" * 40


def test_too_many_steps_is_refused() -> None:
    with pytest.raises(PromoteInputError, match="only 2 earlier revision"):
        choose(HISTORY, app="shop", to="", steps=3)


def test_to_picks_a_recorded_successful_revision_by_prefix() -> None:
    assert choose(HISTORY, app="shop", to="aaaa", steps=1)[1].revision == "a" * 40


def test_to_an_unrecorded_or_failed_revision_is_refused_listing_the_recorded() -> None:
    with pytest.raises(PromoteInputError, match=r"revision ffff .*recorded: cccccccccccc, bbbb"):
        choose(HISTORY, app="shop", to="ffff", steps=1)


def test_no_successful_sync_is_refused() -> None:
    with pytest.raises(PromoteInputError, match="no successful sync"):
        choose([record("f" * 40, SyncOutcome.FAILED)], app="shop", to="", steps=1)


def test_an_app_is_its_directory_and_its_values_files_outside_it() -> None:
    app = AppSpec(
        name="shop",
        path="apps/shop",
        namespace="shop",
        values_files=("prod.yaml", "../../envs/prod/shop.yaml"),
    )
    assert app_paths(app) == ("apps/shop", "envs/prod/shop.yaml")

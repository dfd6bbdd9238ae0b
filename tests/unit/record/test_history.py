"""Sync records: outcomes as an enum, exit codes, and when a record repeats the last one."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from gitward.record.history import SCHEMA, SyncOutcome, SyncRecord

FAILED = SyncRecord(
    app="shop",
    revision="a" * 40,
    ref="main",
    author="Ann",
    subject="ship it",
    started_at="2026-12-02T08:00:00+00:00",
    duration_seconds=1.5,
    result=SyncOutcome.FAILED,
    message="app shop: Gadget/g (g.yaml): no such kind; nothing was applied",
    exit_code=2,
    charts=("web@0.1.0",),
)


def stored(record: SyncRecord) -> dict[str, Any]:
    """The document as the store keeps it: JSON."""
    doc: dict[str, Any] = json.loads(json.dumps(record.to_doc()))
    return doc


def test_a_record_round_trips_through_its_document_with_the_outcome_as_text() -> None:
    assert type(FAILED.to_doc()["result"]) is str
    doc = stored(FAILED)
    assert doc["result"] == "failed"
    assert doc["exit_code"] == 2
    jsonschema.validate({"records": [doc]}, SCHEMA)
    assert SyncRecord.from_doc(doc) == FAILED


def test_a_record_written_before_exit_codes_were_kept_still_reads() -> None:
    doc = stored(FAILED)
    del doc["exit_code"]
    jsonschema.validate({"records": [doc]}, SCHEMA)
    assert SyncRecord.from_doc(doc).exit_code == 3
    doc["result"] = "succeeded"
    assert SyncRecord.from_doc(doc).exit_code == 0


def test_an_unknown_outcome_is_not_a_valid_record() -> None:
    doc = {**stored(FAILED), "result": "kind-of-worked"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"records": [doc]}, SCHEMA)


def test_the_same_failure_at_the_same_revision_repeats_and_anything_else_does_not() -> None:
    later = replace(FAILED, started_at="2026-12-02T08:01:00+00:00", duration_seconds=0.2)
    assert later.repeats(FAILED)
    assert not replace(later, revision="b" * 40).repeats(FAILED)
    assert not replace(later, message="app shop: another reason").repeats(FAILED)
    assert not replace(later, result=SyncOutcome.SUCCEEDED, exit_code=0, message="").repeats(FAILED)
    assert not replace(later, exit_code=3).repeats(FAILED)

"""Golden plans: desired manifests + live state + inventory => the plan's actions.

Each case is a directory under ``tests/fixtures/plans/``:

* ``desired.yaml``: what the app renders (app ``shop``, namespace ``shop``);
* ``live.yaml`` (optional): the writes that made the live state, in order, each
  ``{manager, body}`` applied, or with ``operation: update`` a PUT of the object
  with ``body`` merged in (what ``kubectl edit`` does);
* ``inventory.json`` (optional): the app's inventory entries; a ``uid`` of
  ``<live>`` is the uid the live object got;
* ``case.yaml`` (optional): ``app`` fields (``prune``, ``ignore`` …),
  ``force_conflicts`` (default true, as a sync) and ``adopt``;
* ``expected.yaml``: ``objects`` in plan order (``object``, ``action``, and
  ``reason`` when there is one), ``errors`` (each error as printed), ``rebuilt``.

Planning itself must never write: every case also checks that.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitward.config.apps import IgnoreRule
from gitward.kube import Kube
from gitward.objects import Manifest
from gitward.plan.inventory import Inventory, InventoryEntry
from gitward.plan.model import Plan
from gitward.plan.planner import build_plan
from tests.unit.fakecluster import APP, Step, run, seed, server, writes

CASES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"


def _load_all(path: Path) -> list[Any]:
    if not path.exists():
        return []
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _inventory(case: Path, uids: dict[str, str]) -> Inventory | None:
    path = case / "inventory.json"
    if not path.exists():
        return None
    doc = json.loads(path.read_text())
    entries = []
    for e in doc["entries"]:
        uid = uids[e["name"]] if e.get("uid") == "<live>" else e.get("uid", "")
        entries.append(InventoryEntry(**{**e, "uid": uid}))
    return Inventory(app=APP.id.key, source=APP.source, entries=tuple(entries))


def _plan(case: Path) -> tuple[Plan, int]:
    options = (
        yaml.safe_load((case / "case.yaml").read_text()) if (case / "case.yaml").exists() else {}
    )
    options = options or {}
    app_fields = dict(options.get("app") or {})
    if "ignore" in app_fields:
        app_fields["ignore"] = tuple(
            IgnoreRule(**{**r, "json_pointers": tuple(r["json_pointers"])})
            for r in app_fields["ignore"]
        )
    app = replace(APP, **app_fields)
    desired = [Manifest(body=b, source="desired.yaml") for b in _load_all(case / "desired.yaml")]
    steps = [
        Step(manager=s["manager"], body=s["body"], operation=s.get("operation", "apply"))
        for s in _load_all(case / "live.yaml")
    ]
    srv = server(*options.get("namespaces", ()))

    async def go(kube: Kube) -> tuple[Plan, int]:
        live = await seed(kube, steps)
        inventory = _inventory(case, {n: b["metadata"]["uid"] for n, b in live.items()})
        before = len(srv.calls)
        plan = await build_plan(
            kube=kube,
            app=app,
            manifests=desired,
            inventory=inventory,
            force_conflicts=options.get("force_conflicts", True),
            adopt=options.get("adopt", False),
        )
        return plan, len(writes(srv.calls[before:]))

    return run(srv, go)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_plan_matches_the_golden_fixture(case: str) -> None:
    plan, wrote = _plan(CASES / case)
    expected = yaml.safe_load((CASES / case / "expected.yaml").read_text())
    got_objects = [
        {
            "object": str(o.ref),
            "action": o.action.value,
            **({"reason": o.reason} if o.reason else {}),
        }
        for o in plan.objects
    ]
    assert got_objects == expected.get("objects", [])
    assert [str(e) for e in plan.errors] == expected.get("errors", [])
    assert plan.rebuilt == expected.get("rebuilt", 0)
    assert wrote == 0, "planning wrote to the cluster"


def test_a_plan_without_diffs_makes_no_diff_text_not_even_for_a_namespace_it_creates() -> None:
    app = replace(APP, namespace="fresh", create_namespace=True)
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "fresh"},
    }
    desired = [Manifest(body=body, source="c.yaml")]

    async def go(kube: Kube) -> list[Plan]:
        return [
            await build_plan(kube=kube, app=app, manifests=desired, inventory=None, diffs=d)
            for d in (True, False)
        ]

    with_diffs, without = run(server(), go)
    assert sorted(str(o.ref) for o in with_diffs.objects if o.diff) == [
        "ConfigMap/fresh/c",
        "Namespace/fresh",
    ]
    assert [o.diff for o in without.objects] == ["", ""]

"""Loading and saving an app's inventory in the cluster."""

from __future__ import annotations

from gitward.kube import Kube
from gitward.plan.inventory import Inventory
from gitward.record import store


def configmap_name(key: str) -> str:
    """Records are named by the app's key (``<environment>.<name>`` or ``<name>``)."""
    return f"gitward-inventory-{key}"


def where(key: str) -> str:
    return f"{store.record_namespace()}/{configmap_name(key)}"


async def load(kube: Kube, key: str) -> Inventory | None:
    doc = await store.read(kube, configmap_name(key))
    return Inventory.from_doc(doc) if doc else None


async def save(kube: Kube, inventory: Inventory) -> None:
    await store.write(
        kube,
        configmap_name(inventory.app),
        inventory.to_doc(),
        labels={"gitward.io/app": inventory.app, "gitward.io/record": "inventory"},
    )

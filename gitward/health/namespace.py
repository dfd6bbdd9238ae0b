"""Health of a core ``v1`` Namespace.

A Namespace is ``Active`` or ``Terminating``. Terminating is progressing:
the namespace controller is emptying it, and the message carries its
conditions (content or finalizers remaining, discovery or deletion
failures) because those say what a deletion is stuck on.
"""

from __future__ import annotations

from gitward.health._fields import conditions_of, join, mapping, text
from gitward.health.status import Health
from gitward.objects import Body


def assess(body: Body) -> Health:
    if text(mapping(body, "status"), "phase") != "Terminating":
        return Health.healthy()
    blockers = [c.message or c.reason for c in conditions_of(body) if c.is_true]
    return Health.progressing(join("namespace is terminating", "; ".join(b for b in blockers if b)))

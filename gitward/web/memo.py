"""A result kept per body object: the controller replaces a body when it changes, never edits it.

A watch event or a new render gives a new body object, so what was computed
from one body (its health, say) holds as long as that very object is the
one shown. The entry holds the body, so its ``id`` cannot be reused while
the entry lives. Bounded: past ``max_entries`` bodies, the oldest is forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from gitward.objects import Body

__all__ = ["ByBody"]

T = TypeVar("T")


class ByBody(Generic[T]):
    def __init__(self, fn: Callable[[Body | None], T], *, max_entries: int = 20_000) -> None:
        self._fn = fn
        self._max = max_entries
        self._kept: OrderedDict[int, tuple[Body, T]] = OrderedDict()

    def __call__(self, body: Body | None) -> T:
        if body is None:
            return self._fn(None)
        kept = self._kept.get(id(body))
        if kept is not None and kept[0] is body:
            return kept[1]
        value = self._fn(body)
        self._kept[id(body)] = (body, value)
        while len(self._kept) > self._max:
            self._kept.popitem(last=False)
        return value

"""HTML fragments kept per what they show, so a long page draws only what changed.

The list of a thousand apps is a thousand rows, and the page of a
thousand-object app a thousand tree nodes and diffs; drawing each with Jinja
costs far more than telling whether it changed. So each is drawn from one
template, keyed by everything it shows (an app's row by
:attr:`gitward.web.views.AppRow.key`, a tree node by the frozen
:class:`~gitward.web.tree.Node` itself, a diff by its frozen
:class:`~gitward.web.diffs.ObjectDiff` and the view), and the HTML of a key
already drawn is reused. Bounded: past ``max_entries`` keys, the least
recently drawn is forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import jinja2
from markupsafe import Markup

__all__ = ["Fragments"]


class Fragments:
    def __init__(self, template: jinja2.Template, *, max_entries: int = 5000) -> None:
        self._template = template
        self._max = max_entries
        self._drawn: OrderedDict[Hashable, Markup] = OrderedDict()

    def render(self, key: Hashable | None, **context: Any) -> Markup:
        """The fragment for ``context``, drawn once per ``key`` (every time when ``None``)."""
        if key is None:
            return Markup(self._template.render(**context))
        html = self._drawn.get(key)
        if html is None:
            html = self._drawn[key] = Markup(self._template.render(**context))
            while len(self._drawn) > self._max:
                self._drawn.popitem(last=False)
        self._drawn.move_to_end(key)
        return html

"""The web UI: server-rendered pages on the API's Starlette app, in the controller's loop.

Pages are Jinja2 templates; the few interactions (filters, live refresh,
actions) use htmx, vendored at a pinned version under ``static/vendor`` (no
CDN, no build step). The UI reads the controller through
:class:`~gitward.web.protocols.UiSource` and never talks to the API server
itself.

Modules:

- :mod:`~gitward.web.protocols`: :class:`UiSource`, what the UI asks of the controller.
- :mod:`~gitward.web.views`: filters and list rows, without HTML.
- :mod:`~gitward.web.diffs`: the masked, projected diff of one object.
- :mod:`~gitward.web.tree`: the resource tree by ownerReferences.
- :mod:`~gitward.web.cluster`: owned objects and Events, read through the controller's client.
- :mod:`~gitward.web.live`: server-sent events naming the apps that changed.
- :mod:`~gitward.web.sessions`: logins and CSRF tokens.
- :mod:`~gitward.web.routes`: the routes and who may use them.
"""

from gitward.web.protocols import ObjectState, UiSource
from gitward.web.routes import UiOptions, ui_routes

__all__ = ["ObjectState", "UiOptions", "UiSource", "ui_routes"]

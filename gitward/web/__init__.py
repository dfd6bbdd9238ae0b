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
- :mod:`~gitward.web.sessions`: sessions and CSRF tokens.
- :mod:`~gitward.web.passwords`: password hashes (scrypt).
- :mod:`~gitward.web.users`: the users Secret, read through the controller's client.
- :mod:`~gitward.web.throttle`: failed logins counted per client.
- :mod:`~gitward.web.context`: who may read and act, and how a page is drawn.
- :mod:`~gitward.web.logins`: logging in and out.
- :mod:`~gitward.web.actions`: sync, refresh and rollback.
- :mod:`~gitward.web.routes`: the pages, and every route together.
"""

from gitward.web.context import UiOptions
from gitward.web.protocols import ObjectState, UiSource
from gitward.web.routes import ui_routes
from gitward.web.users import UsersSecret

__all__ = ["ObjectState", "UiOptions", "UiSource", "UsersSecret", "ui_routes"]

"""What the controller tells a pull request and a merged commit.

Previews (:mod:`.previews`): a pull request's head, planned against the live
cluster, as one comment and a ``gitward/preview`` status. Deploy statuses
(:mod:`.deploys`): ``gitward/deploy/<app>`` on each merged commit the
controller syncs, sent exactly once per app, revision and state. Plans as
Markdown (:mod:`.markdown`) serve both, and ``gitward promote``'s bodies.
"""

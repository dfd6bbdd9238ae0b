"""Config repositories: fetched with git into a shared cache, checked out per commit.

:class:`GitSource` is the entry point: ``resolve`` says which commit a ref
names now, ``checkout`` gives a read-only tree of its files, and
``changed_paths`` says which paths two commits differ in. Every failure is a
one-line :class:`gitward.errors.SourceError` naming the repository, with no
credential in it.

Modules: :mod:`.fetching` (the cache and ref resolution), :mod:`.checkouts`
(trees per commit), :mod:`.opening` (``--repo``/``--revision`` to a tree on
disk, a local working copy as it is), :mod:`.credentials`, :mod:`.urls`,
:mod:`.revisions` (the frozen results) and :mod:`.git` (the only place git is
started).
"""

from gitward.source.credentials import GitCredentials
from gitward.source.fetching import GitSource
from gitward.source.revisions import Checkout, Revision

__all__ = ["Checkout", "GitCredentials", "GitSource", "Revision"]

"""One comment per pull request and purpose, found again by a hidden marker.

A preview is posted once and edited on every later push, so a pull request
shows one current plan rather than a stack of stale ones. The marker is an
HTML comment (``<!-- gitward:preview -->``), invisible where the forge renders
Markdown and unlikely in anything a person writes.
"""

from __future__ import annotations

from gitward.forge.models import Comment
from gitward.forge.protocol import Forge


def marker(purpose: str) -> str:
    return f"<!-- gitward:{purpose} -->"


async def put_comment(forge: Forge, *, number: int, purpose: str, body: str) -> Comment:
    """Create the comment for ``purpose``, or edit the one there; no write if it says ``body``."""
    tag = marker(purpose)
    text = body if tag in body else f"{tag}\n{body}"
    ours = [c for c in await forge.comments(number) if tag in c.body]
    if not ours:
        return await forge.create_comment(number=number, body=text)
    current = ours[0]
    if current.body.strip() == text.strip():
        return current
    return await forge.edit_comment(number=number, comment_id=current.id, body=text)

"""One HTTP client per forge, mapping every answer gitward did not ask for to a ForgeError.

Each call says *what* it does ("open a pull request") and which permission
it needs in that forge's own words, so a refusal names the permission to
grant rather than a bare "403". Tokens travel only in headers and are never
part of a message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from gitward.forge.errors import (
    ForgeConflict,
    ForgeError,
    ForgeNotFound,
    ForgeRefused,
    ForgeUnreachable,
)

DEFAULT_TIMEOUT = 30.0
#: How many pages of a list are read at most (a pull request with 5,000 comments is not ours).
MAX_PAGES = 50

#: From a refused response to the permission the forge says it wanted, if it says.
PermissionHint = Callable[[httpx.Response], str | None]


class ForgeHttp:
    """An httpx client for one forge API, with gitward's errors."""

    def __init__(
        self,
        *,
        kind: str,
        base_url: str,
        repo: str,
        headers: Mapping[str, str],
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        permission_hint: PermissionHint | None = None,
    ) -> None:
        self.kind = kind
        self.repo = repo
        self.base_url = base_url.rstrip("/")
        self._hint = permission_hint
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Accept": "application/json", "User-Agent": "gitward", **headers},
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
        )

    @property
    def subject(self) -> str:
        return f"{self.kind} {self.base_url} {self.repo}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        permission: str,
        json_body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> Any:
        """The decoded JSON answer of a 2xx response (``None`` for an empty one)."""
        response = await self._send(method, path, what=what, json_body=json_body, params=params)
        if response.is_success:
            return _decode(response, subject=self.subject, what=what)
        raise self._error(response, what=what, permission=permission)

    async def pages(
        self,
        path: str,
        *,
        what: str,
        permission: str,
        size_param: str,
        size: int = 50,
        params: Mapping[str, str | int] | None = None,
    ) -> list[Any]:
        """Every item of a paged list, page by page until a short page."""
        items: list[Any] = []
        for page in range(1, MAX_PAGES + 1):
            got = await self.call(
                "GET",
                path,
                what=what,
                permission=permission,
                params={**(params or {}), size_param: size, "page": page},
            )
            if not isinstance(got, list):
                raise ForgeError(
                    f"{self.subject}: {what}: expected a list, got {type(got).__name__}"
                )
            items += got
            if len(got) < size:
                break
        return items

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json_body: Mapping[str, Any] | None,
        params: Mapping[str, str | int] | None,
    ) -> httpx.Response:
        try:
            return await self._client.request(method, path, json=json_body, params=params)
        except httpx.TimeoutException as e:
            raise ForgeUnreachable(f"{self.subject}: {what}: timed out") from e
        except httpx.HTTPError as e:
            reason = str(e) or type(e).__name__
            raise ForgeUnreachable(f"{self.subject}: {what}: unreachable: {reason}") from e

    def _error(self, response: httpx.Response, *, what: str, permission: str) -> ForgeError:
        status = response.status_code
        said = _message(response)
        tail = f": {said}" if said else ""
        head = f"{self.subject}: {what}"
        if status == 401:
            return ForgeRefused(f"{head}: the token was rejected (HTTP 401){tail}")
        # Gitea answers a merge the user may not make with 405 "not allowed to merge".
        refused = status == 403 or (status == 405 and "not allowed to merge" in said.lower())
        if refused:
            needed = (self._hint(response) if self._hint else None) or permission
            return ForgeRefused(f"{head}: refused, the token needs {needed} (HTTP {status}){tail}")
        if status == 404:
            return ForgeNotFound(f"{head}: not found, or the token cannot see it (HTTP 404){tail}")
        if status in (405, 409, 422):
            return ForgeConflict(f"{head}: refused (HTTP {status}){tail}")
        if status >= 500:
            return ForgeUnreachable(f"{head}: the forge failed (HTTP {status}){tail}")
        return ForgeError(f"{head}: unexpected answer (HTTP {status}){tail}")


def _decode(response: httpx.Response, *, subject: str, what: str) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ForgeError(f"{subject}: {what}: the answer is not JSON") from e


def _message(response: httpx.Response) -> str:
    """The forge's own explanation, in one line ("" when it gave none)."""
    try:
        doc = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return " ".join(response.text.split())[:200]
    if isinstance(doc, dict):
        parts = [doc.get("message"), doc.get("error")]
        errors = doc.get("errors")
        if isinstance(errors, list):
            parts += [e.get("message") if isinstance(e, dict) else e for e in errors]
        text = "; ".join(str(p) for p in parts if p)
        return " ".join(text.split())[:300]
    return ""
